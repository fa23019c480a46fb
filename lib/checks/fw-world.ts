// MLF-FW-WORLD: no firewall rule lets the whole internet reach a port, whatever the port.
// "The whole internet" is any set of source ranges that covers it together (0.0.0.0/0,
// 0.0.0.0/1 + 128.0.0.0/1, ::/0, 2000::/3 …; lib/private/ip.ts).
//
// Three rules say more about their own ports and report them instead: MLF-FW-SSH-WORLD
// (tcp/22), MLF-FW-MLFLOW-WORLD (the MLflow port of the servers a rule reaches) and
// MLF-FW-ALL-PORTS-WORLD (every port); this one reports every other port, HTTPS 443 in front
// of MLflow included, so one finding never shows twice. ICMP is left out: no service listens
// there, and path MTU discovery needs ICMP from every address (RFC 1191, RFC 4890), which is
// why Google's default network allows it from 0.0.0.0/0 (default-allow-icmp).
//
// The library's own rule for Let's Encrypt (tcp/80 from everywhere, access.domain) is a
// finding of this rule too; it carries a built-in suppression with its reason
// (constructs/tracking-server.ts), reported like any other suppression.
import { MlflowRule } from "./rule";
import {
  FirewallAllow, ICMP, PORTED, TCP, checkWorldIngress, coversAllPorts, ingressRule, mlflowPortsReached,
} from "./private/network";
import { isReference } from "./private/json";

/**
 * Why MlflowTrackingServer's rule for Let's Encrypt may open tcp/80 to everyone: its built-in
 * suppression of this rule. Let's Encrypt does not publish the addresses it validates from
 * ("we don't publish a list of IP addresses we use to validate", letsencrypt.org FAQ), so the
 * HTTP-01 challenge port must be reachable by all.
 */
export const ACME_CHALLENGE_REASON =
  "cdktf-mlflow-gcp (built in): Let's Encrypt validates the HTTP-01 challenge from addresses it does not publish, so port 80 is open to " +
  "everyone; Caddy answers only the challenge and a redirect to HTTPS there, and MLflow listens on 127.0.0.1";

/** What a rule opens beyond what the three port-specific world rules report; "reference" for a port known only at apply. */
function otherOpenings(allows: readonly FirewallAllow[], mlflowPorts: readonly number[]): Array<string | "reference"> {
  const found: Array<string | "reference"> = [];
  for (const allow of allows) {
    if (allow.protocol === "all" || ICMP.includes(allow.protocol)) continue;
    if (!PORTED.includes(allow.protocol)) {
      found.push(`protocol ${allow.protocol}`);
      continue;
    }
    // No port list, or 0-65535: every port, reported by MLF-FW-ALL-PORTS-WORLD.
    if (coversAllPorts(allow)) continue;
    const tcp = TCP.includes(allow.protocol);
    for (const spec of allow.ports ?? []) {
      if (isReference(spec)) {
        found.push("reference");
        continue;
      }
      const port = /^\d+$/.test(spec.trim()) ? Number(spec) : undefined;
      if (tcp && (port === 22 || (port !== undefined && mlflowPorts.includes(port)))) continue;
      found.push(`${allow.protocol}/${spec.trim()}`);
    }
  }
  return found;
}

export const fwWorld: MlflowRule = {
  id: "MLF-FW-WORLD",
  level: "error",
  title: "No firewall rule opens any port to the whole internet",
  why: "Whatever listens on a port open to every address (0.0.0.0/0, ::/0, or ranges that together cover the internet) is scanned and attacked within minutes; a rule meant for a few clients that ends up covering the whole address space exposes the service as much as 0.0.0.0/0 does.",
  howToFix: "List only the source ranges that need the port (offices, VPN egress, CI runners, 35.235.240.0/20 for IAP); in public mode set access.allowedSourceRanges to those ranges. Where a port must be open to everyone (an ACME challenge), accept it with MlflowChecks.suppress(construct, \"MLF-FW-WORLD\", reason).",
  resourceTypes: ["google_compute_firewall"],
  check(resource, facts) {
    const parsed = ingressRule(resource.config);
    const openings = typeof parsed === "object" ? otherOpenings(parsed.allows, mlflowPortsReached(parsed, facts)) : [];
    const known = openings.filter((o) => o !== "reference");
    return checkWorldIngress(
      resource.config,
      () => (known.length > 0 ? true : openings.length > 0 ? "reference" : false),
      known.join(", "),
    );
  },
};
