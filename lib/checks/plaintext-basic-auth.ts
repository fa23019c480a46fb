// MLF-PLAINTEXT-BASIC-AUTH: with MLflow's basic-auth app every request carries a user name
// and password; over plain HTTP from outside the VPC they cross the internet in clear.
//
// Precisely, from the synthesized JSON: an enabled ingress firewall rule that
//  - applies to a VM whose startup script runs `mlflow server --app-name basic-auth`,
//    bound to a non-loopback --host (a loopback-bound server is reached only through a local
//    proxy, e.g. Caddy with TLS) and without TLS options of its own, and
//  - allows tcp to that server's --port (default 5000),
//  - from a source range outside the VPC: not private (RFC 1918, 100.64/10, ULA), not IAP
//    TCP forwarding (35.235.240.0/20, an encrypted tunnel), not Google's front ends, not a
//    reference to a subnetwork's own range.
//
// A warning, not an error: public mode without a domain is refused unless the user sets
// `access.allowPlaintextHttp: true`, an explicit acknowledgement that passwords cross the
// network unencrypted, and the default stack in every supported mode must synthesize with no
// suppression. Failing synth would turn that acknowledgement into a dead option; the warning
// keeps the risk visible on every synth.
import { MlflowRule, compliant, nonCompliant, notApplicable, notCheckable } from "./rule";
import { allowsTcpPort, classifySource, ingressRule, targetsVm } from "./private/network";

export const plaintextBasicAuth: MlflowRule = {
  id: "MLF-PLAINTEXT-BASIC-AUTH",
  level: "warning",
  title: "MLflow basic-auth passwords never travel over plain HTTP from outside the VPC",
  why: "Basic auth sends the user name and password with every request; on plain HTTP anyone on the path (public Wi-Fi, a compromised router, the allowed ranges' networks) can read them and the data, and reuse the password.",
  howToFix: 'Use access.mode "private" (the IAP tunnel encrypts the traffic), or serve HTTPS (a domain with TLS in front of MLflow bound to 127.0.0.1); reaching the plain-HTTP port from inside the VPC only is fine.',
  resourceTypes: ["google_compute_firewall"],
  check(resource, facts) {
    const servers = facts.servers.filter((s) => s.basicAuth && !s.tls && !s.loopbackOnly && s.port !== undefined);
    if (servers.length === 0) return notApplicable("no MLflow server with basic auth on plain HTTP in the stack");
    const rule = ingressRule(resource.config);
    if (rule === "reference") return notCheckable("direction or disabled");
    if (rule === undefined) return notApplicable("not an enabled ingress rule");
    const exposed: string[] = [];
    let unknown = false;
    for (const server of servers) {
      if (!targetsVm(rule, server.networkTags, server.serviceAccountEmail)) continue;
      const open = allowsTcpPort(rule, server.port!);
      if (open === false) continue;
      const outside = rule.sourceRanges.filter((r) => ["world", "public"].includes(classifySource(r)));
      const unknownSources = rule.sourceRangesUnknown || rule.sourceRanges.some((r) => classifySource(r) === "unknown");
      if (outside.length > 0 && open === true) {
        exposed.push(`${outside.join(", ")} reach ${server.address} on plain HTTP port ${server.port} with basic auth on`);
      } else if (outside.length > 0 || unknownSources) {
        unknown = true;
      }
    }
    if (exposed.length > 0) return nonCompliant(exposed.join("; "));
    return unknown ? notCheckable("source_ranges or allow.ports") : compliant();
  },
};
