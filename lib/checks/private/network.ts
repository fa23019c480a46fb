// Firewall rules as the checks see them: who may connect (source ranges, classified) and to
// which ports. GCP semantics that matter here: direction defaults to INGRESS; an ingress rule
// with no source at all applies to 0.0.0.0/0; protocol "all" or a protocol without ports
// opens every port. "The whole internet" is any set of ranges that covers it together
// (0.0.0.0/1 + 128.0.0.0/1, ::/0, 2000::/3 …), as defined in lib/private/ip.ts.
import { JsonObject, blocks, bool, isReference, stringList } from "./json";
import { Cidr, cidr, contains, coveringBlocks, describeCoverage, internetCoverage, isIpError, parseCidr } from "../../private/ip";
import { MlflowRuleResult, MlflowStackFacts, compliant, nonCompliant, notApplicable, notCheckable } from "../rule";
import { MLFLOW_DEFAULT_PORT } from "./server";

/** Source ranges IAP TCP forwarding connects from (cloud.google.com/iap/docs/using-tcp-forwarding). */
const IAP_RANGES = ["35.235.240.0/20", "2600:2d00:1:7::/64"];
/** Google Cloud load balancers and health checks: traffic from Google's front ends. */
const GOOGLE_FRONT_END_RANGES = ["130.211.0.0/22", "35.191.0.0/16"];
/** Addresses that never cross the internet: RFC 1918, shared (CGNAT), loopback, link-local, IPv6 ULA. */
const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "::1/128", "fe80::/10"];

const TRUSTED = [...PRIVATE_RANGES, ...IAP_RANGES, ...GOOGLE_FRONT_END_RANGES].map(cidr);

/** A source range as GCP reads it (a bare address is one host), or undefined when it is not literal or not valid. */
function parseSource(text: string): Cidr | undefined {
  const parsed = parseCidr(text.trim(), { requirePrefix: false });
  return isIpError(parsed) ? undefined : parsed;
}

/**
 * A reference to a subnetwork's own range (`${google_compute_subnetwork.x.ip_cidr_range}`,
 * also through a data source or a secondary range): addresses inside the VPC, never the world.
 */
function isSubnetworkRange(value: string): boolean {
  return /^\$\{(data\.)?google_compute_subnetwork\.[\w-]+\.(ip_cidr_range|secondary_ip_range\[\d+\]\.ip_cidr_range)\}$/.test(value);
}

/** How far a source range reaches. */
export type SourceClass =
  /** Every address on the IPv4 or the IPv6 internet (0.0.0.0/0, ::/0, 2000::/3 …; see lib/private/ip.ts). */
  | "world"
  /** Some public addresses (not the whole internet). */
  | "public"
  /** Private, IAP, Google front ends, or the VPC's own subnetwork: never a client on the internet. */
  | "internal"
  /** A reference or an unparsable value. */
  | "unknown";

export function classifySource(range: string): SourceClass {
  if (isReference(range)) return isSubnetworkRange(range) ? "internal" : "unknown";
  const block = parseSource(range);
  if (!block) return "unknown";
  const coverage = internetCoverage([block]);
  if (coverage.ipv4 || coverage.ipv6) return "world";
  return TRUSTED.some((t) => contains(t, block)) ? "internal" : "public";
}

/** One `allow` entry: a protocol and its ports (undefined = every port). */
export interface FirewallAllow {
  readonly protocol: string;
  readonly ports?: readonly string[];
}

/** An enabled ingress rule, reduced to what the checks need. */
export interface IngressRule {
  /** Source ranges as written; `["0.0.0.0/0"]` when the rule names no source at all (GCP's default). */
  readonly sourceRanges: readonly string[];
  /** The whole `source_ranges` list is one reference. */
  readonly sourceRangesUnknown: boolean;
  /** The rule names no source at all, so GCP applies it to 0.0.0.0/0. */
  readonly implicitWorld: boolean;
  readonly allows: readonly FirewallAllow[];
  readonly targetTags: readonly string[];
  readonly targetServiceAccounts: readonly string[];
}

/**
 * The rule as an ingress rule; undefined for egress or disabled rules (which let nothing
 * in), or "reference" when direction or disabled is only known at apply.
 */
export function ingressRule(config: JsonObject): IngressRule | "reference" | undefined {
  const direction = config.direction ?? "INGRESS";
  if (isReference(direction)) return "reference";
  if (String(direction).toUpperCase() !== "INGRESS") return undefined;
  const disabled = bool(config.disabled);
  if (disabled === "reference") return "reference";
  if (disabled === true) return undefined;
  const rawRanges = config.source_ranges;
  const sourceRangesUnknown = typeof rawRanges === "string" && isReference(rawRanges);
  let sourceRanges = sourceRangesUnknown ? [] : stringList(rawRanges);
  const hasOtherSource = stringList(config.source_tags).length > 0 || stringList(config.source_service_accounts).length > 0;
  const implicitWorld = !sourceRangesUnknown && sourceRanges.length === 0 && !hasOtherSource;
  if (implicitWorld) sourceRanges = ["0.0.0.0/0"];
  return {
    sourceRanges,
    sourceRangesUnknown,
    implicitWorld,
    allows: blocks(config.allow).map((a) => ({
      protocol: String(a.protocol ?? "").toLowerCase(),
      ports: a.ports === undefined || (Array.isArray(a.ports) && a.ports.length === 0) ? undefined : stringList(a.ports),
    })),
    targetTags: stringList(config.target_tags),
    targetServiceAccounts: stringList(config.target_service_accounts),
  };
}

/** TCP by name or number. */
export const TCP = ["tcp", "6"];
/** The protocols with ports (TCP, UDP, SCTP), by name or number. */
export const PORTED = ["tcp", "6", "udp", "17", "sctp", "132"];
/** ICMP and ICMPv6: no service listens there (see MLF-FW-WORLD). */
export const ICMP = ["icmp", "1", "58", "ipv6-icmp", "icmpv6"];

/** Whether a port spec ("22", "20-25") covers `port`; "reference" when it is not literal. */
function portCovers(spec: string, port: number): boolean | "reference" {
  if (isReference(spec)) return "reference";
  const m = /^(\d+)(?:-(\d+))?$/.exec(spec.trim());
  if (!m) return false;
  const low = Number(m[1]);
  const high = m[2] === undefined ? low : Number(m[2]);
  return port >= low && port <= high;
}

/** Whether the rule lets TCP traffic reach `port`; "reference" when a port is not literal. */
export function allowsTcpPort(rule: IngressRule, port: number): boolean | "reference" {
  let unknown = false;
  for (const allow of rule.allows) {
    if (allow.protocol === "all") return true;
    if (!TCP.includes(allow.protocol)) continue;
    if (allow.ports === undefined) return true;
    for (const spec of allow.ports) {
      const covers = portCovers(spec, port);
      if (covers === true) return true;
      if (covers === "reference") unknown = true;
    }
  }
  return unknown ? "reference" : false;
}

/** Whether a TCP/UDP/SCTP allow covers every port: no port list, or 0-65535 (1-65535). */
export function coversAllPorts(allow: FirewallAllow): boolean {
  return allow.ports === undefined || allow.ports.some((p) => /^(0|1)-65535$/.test(p.trim()));
}

/** Whether the rule opens every port: protocol "all", or TCP/UDP/SCTP with no port list or 0-65535. */
export function allowsAllPorts(rule: IngressRule): boolean {
  return rule.allows.some((a) => a.protocol === "all" || (PORTED.includes(a.protocol) && coversAllPorts(a)));
}

/**
 * The sources of the rule that together are the whole internet, described for a message
 * ("0.0.0.0/0", or "0.0.0.0/1, 128.0.0.0/1 (together every IPv4 address on the internet)",
 * or why it is 0.0.0.0/0 when the rule names no source); "reference" when the literal sources
 * are not the internet but a reference (other than a subnetwork's range) could make them so.
 */
export function worldSources(rule: IngressRule): string[] | "reference" {
  if (rule.implicitWorld) return ["0.0.0.0/0 (the rule names no source, so GCP applies it to every address)"];
  const blocks = rule.sourceRanges.map((r) => (isReference(r) ? undefined : parseSource(r))).filter((b): b is Cidr => b !== undefined);
  const coverage = internetCoverage(blocks);
  if (coverage.ipv4 || coverage.ipv6) {
    const alone = blocks.filter((b) => classifySource(b.text) === "world");
    if (alone.length > 0) return alone.map((b) => b.text);
    return [`${coveringBlocks(blocks, coverage).map((b) => b.text).join(", ")} (together ${describeCoverage(coverage)})`];
  }
  return rule.sourceRangesUnknown || rule.sourceRanges.some((r) => classifySource(r) === "unknown") ? "reference" : [];
}

/**
 * The MLflow ports a rule can reach: the `--port` of every MLflow server of the stack it
 * targets; MLflow's default port when the stack shows no MLflow server (a pre-built image,
 * another stack).
 */
export function mlflowPortsReached(rule: IngressRule, facts: MlflowStackFacts): number[] {
  if (facts.servers.length === 0) return [MLFLOW_DEFAULT_PORT];
  const reached = facts.servers.filter((s) => targetsVm(rule, s.networkTags, s.serviceAccountEmail));
  return [...new Set(reached.flatMap((s) => (s.port === undefined ? [] : [s.port])))].sort((a, b) => a - b);
}

/** Whether the rule applies to a VM with these network tags and service account. */
export function targetsVm(rule: IngressRule, networkTags: readonly string[], serviceAccountEmail?: string): boolean {
  // Neither target tags nor target service accounts: the rule applies to every VM of the network.
  if (rule.targetTags.length === 0 && rule.targetServiceAccounts.length === 0) return true;
  if (rule.targetTags.some((t) => networkTags.includes(t))) return true;
  return serviceAccountEmail !== undefined && rule.targetServiceAccounts.includes(serviceAccountEmail);
}

/**
 * The shared body of the "open to the world" rules: non-compliant when an enabled ingress
 * rule lets `opens` through from 0.0.0.0/0 or ::/0.
 */
export function checkWorldIngress(
  config: JsonObject,
  opens: (rule: IngressRule) => boolean | "reference",
  what: string,
): MlflowRuleResult {
  const rule = ingressRule(config);
  if (rule === "reference") return notCheckable("direction or disabled");
  if (rule === undefined) return notApplicable("not an enabled ingress rule");
  const open = opens(rule);
  if (open === false) return compliant();
  const world = worldSources(rule);
  if (world === "reference") return notCheckable("source_ranges");
  if (world.length === 0) return compliant();
  if (open === "reference") return notCheckable("allow.ports");
  return nonCompliant(`allows ${what} from ${world.join(", ")}`);
}
