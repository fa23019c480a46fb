// Firewall rules as the checks see them: who may connect (source ranges, classified) and to
// which ports. GCP semantics that matter here: direction defaults to INGRESS; an ingress rule
// with no source at all applies to 0.0.0.0/0; protocol "all" or a protocol without ports
// opens every port.
import { JsonObject, blocks, bool, isReference, stringList } from "./json";
import { MlflowRuleResult, compliant, nonCompliant, notApplicable, notCheckable } from "../rule";

/** Source ranges IAP TCP forwarding connects from (cloud.google.com/iap/docs/using-tcp-forwarding). */
const IAP_RANGES = ["35.235.240.0/20", "2600:2d00:1:7::/64"];
/** Google Cloud load balancers and health checks: traffic from Google's front ends. */
const GOOGLE_FRONT_END_RANGES = ["130.211.0.0/22", "35.191.0.0/16"];
/** Addresses that never cross the internet: RFC 1918, shared (CGNAT), loopback, link-local, IPv6 ULA. */
const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "::1/128", "fe80::/10"];

interface Cidr {
  readonly version: 4 | 6;
  readonly bits: bigint;
  readonly prefix: number;
}

function parseCidr(text: string): Cidr | undefined {
  const [addr, prefixText] = text.trim().split("/");
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    if (octets.some((o) => o > 255)) return undefined;
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
    return { version: 4, bits: octets.reduce((acc, o) => (acc << 8n) + BigInt(o), 0n), prefix };
  }
  if (addr.includes(":")) {
    const prefix = prefixText === undefined ? 128 : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) return undefined;
    const halves = addr.split("::");
    if (halves.length > 2) return undefined;
    const parse = (s: string) => (s === "" ? [] : s.split(":"));
    const head = parse(halves[0]);
    const tail = halves.length === 2 ? parse(halves[1]) : [];
    const missing = 8 - head.length - tail.length;
    if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined;
    const groups = [...head, ...Array(missing).fill("0"), ...tail];
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return { version: 6, bits: groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g, 16)), 0n), prefix };
  }
  return undefined;
}

/** Whether every address of `inner` lies in `outer`. */
function within(inner: Cidr, outer: Cidr): boolean {
  if (inner.version !== outer.version || inner.prefix < outer.prefix) return false;
  const width = inner.version === 4 ? 32 : 128;
  const shift = BigInt(width - outer.prefix);
  return inner.bits >> shift === outer.bits >> shift;
}

const parsedList = (ranges: string[]) => ranges.map((r) => parseCidr(r)!);
const TRUSTED = parsedList([...PRIVATE_RANGES, ...IAP_RANGES, ...GOOGLE_FRONT_END_RANGES]);

/**
 * A reference to a subnetwork's own range (`${google_compute_subnetwork.x.ip_cidr_range}`,
 * also through a data source or a secondary range): addresses inside the VPC, never the world.
 */
function isSubnetworkRange(value: string): boolean {
  return /^\$\{(data\.)?google_compute_subnetwork\.[\w-]+\.(ip_cidr_range|secondary_ip_range\[\d+\]\.ip_cidr_range)\}$/.test(value);
}

/** How far a source range reaches. */
export type SourceClass =
  /** 0.0.0.0/0 or ::/0: every address on the internet. */
  | "world"
  /** Some public addresses (not the whole internet). */
  | "public"
  /** Private, IAP, Google front ends, or the VPC's own subnetwork: never a client on the internet. */
  | "internal"
  /** A reference or an unparsable value. */
  | "unknown";

export function classifySource(range: string): SourceClass {
  if (isReference(range)) return isSubnetworkRange(range) ? "internal" : "unknown";
  const cidr = parseCidr(range);
  if (!cidr) return "unknown";
  if (cidr.prefix === 0) return "world";
  return TRUSTED.some((t) => within(cidr, t)) ? "internal" : "public";
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

const TCP = ["tcp", "6"];
const PORTED = ["tcp", "6", "udp", "17", "sctp", "132"];

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

/** Whether the rule opens every port: protocol "all", or TCP/UDP/SCTP with no port list or 0-65535. */
export function allowsAllPorts(rule: IngressRule): boolean {
  return rule.allows.some((a) =>
    a.protocol === "all" ||
    (PORTED.includes(a.protocol) && (a.ports === undefined || a.ports.some((p) => /^(0|1)-65535$/.test(p.trim())))));
}

/**
 * The world-wide sources of the rule, described for a message ("0.0.0.0/0", or why it is
 * 0.0.0.0/0 when the rule names no source); "reference" when none is world-wide but a
 * source is a reference other than a subnetwork range.
 */
export function worldSources(rule: IngressRule): string[] | "reference" {
  if (rule.implicitWorld) return ["0.0.0.0/0 (the rule names no source, so GCP applies it to every address)"];
  const world = rule.sourceRanges.filter((r) => classifySource(r) === "world");
  if (world.length > 0) return world;
  return rule.sourceRangesUnknown || rule.sourceRanges.some((r) => classifySource(r) === "unknown") ? "reference" : [];
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
