// Value rules for network props: which IPv4 ranges may be a subnetwork or a trusted internal
// client range, whether a list of source ranges amounts to the whole internet, and how a
// network or subnetwork reference (name, resource path, self link) is read.
import { Cidr, contains, coveringBlocks, describeCoverage, formatCidr, internetCoverage, isIpError, cidr, overlaps, parseCidr } from "./ip";

/**
 * The private ranges this library accepts for `network.subnetCidr` and
 * `access.internalSourceRanges`: RFC 1918 and the shared address space of RFC 6598 (GKE and
 * carrier-grade NAT use it). Google Cloud accepts more for subnets (documentation and
 * benchmarking ranges, class E, privately used public addresses), but a subnetwork's range
 * becomes a firewall source the server trusts, so only ranges that can never be someone
 * else's addresses on the internet are accepted.
 */
export const PRIVATE_BLOCKS: ReadonlyArray<readonly [Cidr, string]> = [
  [cidr("10.0.0.0/8"), "RFC 1918"],
  [cidr("172.16.0.0/12"), "RFC 1918"],
  [cidr("192.168.0.0/16"), "RFC 1918"],
  [cidr("100.64.0.0/10"), "RFC 6598 shared address space"],
];

/**
 * Ranges Google Cloud refuses for any subnet ("Prohibited IPv4 subnet ranges",
 * https://cloud.google.com/vpc/docs/subnets#prohibited_ranges), with why. The page also
 * prohibits the public ranges of Google APIs and services; those are public and fail the
 * private-range rule anyway.
 */
export const GCP_PROHIBITED_SUBNET_RANGES: ReadonlyArray<readonly [Cidr, string]> = [
  [cidr("0.0.0.0/8"), 'the "this network" block (RFC 1122)'],
  [cidr("127.0.0.0/8"), "loopback (RFC 1122)"],
  [cidr("169.254.0.0/16"), "link-local (RFC 3927), where the VM's metadata server 169.254.169.254 lives"],
  [cidr("224.0.0.0/4"), "multicast (RFC 5771)"],
  [cidr("255.255.255.255/32"), "the limited broadcast address (RFC 8190, RFC 919)"],
  [cidr("199.36.153.4/30"), "restricted.googleapis.com (Private Google Access)"],
  [cidr("199.36.153.8/30"), "private.googleapis.com (Private Google Access)"],
];

export const PRIVATE_SUMMARY = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918) or 100.64.0.0/10 (RFC 6598)";

/**
 * Why a parsed block is not a private IPv4 range a VPC may use (a reason for a message), or
 * undefined when it is. `use` words the reason for a subnetwork or for internal clients.
 */
export function privateRangeProblem(block: Cidr, use: "subnetwork" | "clients"): string | undefined {
  if (block.version !== 4) {
    return use === "subnetwork"
      ? `${block.text} is IPv6; the subnetwork's primary range is IPv4`
      : `${block.text} is IPv6; the server has an IPv4 address only, so IPv6 clients never reach it`;
  }
  const prohibited = GCP_PROHIBITED_SUBNET_RANGES.find(([p]) => overlaps(p, block));
  if (prohibited) {
    const [p, what] = prohibited;
    const where = p.first === block.first && p.last === block.last
      ? `is ${what}` : `${contains(p, block) ? "lies in" : "overlaps"} ${formatCidr(p)}, ${what}`;
    return `${block.text} ${where}, which Google Cloud refuses for subnets` +
      (use === "clients" ? " and is never a client's address in your network" : "");
  }
  if (PRIVATE_BLOCKS.some(([p]) => contains(p, block))) return undefined;
  const partly = PRIVATE_BLOCKS.some(([p]) => overlaps(p, block));
  return `${block.text} ${partly ? "reaches beyond the private ranges" : "is public"}` +
    (use === "subnetwork" ? ": the subnetwork's range is a source the server's firewall trusts" : ": these ranges reach the server directly, without the IAP tunnel in front");
}

/** What `network.subnetCidr` accepts. */
export const SUBNET_RANGE_EXPECTED =
  `a private IPv4 CIDR block such as "10.20.0.0/24" inside ${PRIVATE_SUMMARY}, with a prefix length from /8 to /29 and no host bits set`;
/** What `access.internalSourceRanges` accepts. */
export const CLIENT_RANGE_EXPECTED =
  `a private IPv4 range inside your network, such as "10.0.0.0/8" or "192.168.10.0/24" (${PRIVATE_SUMMARY})`;

/** Reads a CIDR block for a prop; a reason when it is not one (host bits count as a problem). */
export function blockOrReason(value: string): Cidr | string {
  const parsed = parseCidr(value);
  if (isIpError(parsed)) return parsed.error;
  if (parsed.hostBitsSet) return `bits are set after the prefix (GCP refuses such a range): write ${formatCidr(parsed)}`;
  return parsed;
}

/** Why a value is not a valid primary range for the subnetwork this library creates. */
export function subnetRangeProblem(value: string): string | undefined {
  const block = blockOrReason(value);
  if (typeof block === "string") return `${SUBNET_RANGE_EXPECTED}; ${block}`;
  if (block.version === 4 && (block.prefix < 8 || block.prefix > 29)) {
    return `${SUBNET_RANGE_EXPECTED}; /${block.prefix} is ${block.prefix < 8 ? "wider than /8" : "narrower than /29, the smallest subnet GCP allows"}`;
  }
  const reason = privateRangeProblem(block, "subnetwork");
  return reason === undefined ? undefined : `${SUBNET_RANGE_EXPECTED}; ${reason}`;
}

/** Why a value is not a private range of internal clients. */
export function clientRangeProblem(value: string): string | undefined {
  const block = blockOrReason(value);
  if (typeof block === "string") return `${CLIENT_RANGE_EXPECTED}; ${block}`;
  const reason = privateRangeProblem(block, "clients");
  return reason === undefined ? undefined : `${CLIENT_RANGE_EXPECTED}; ${reason}`;
}

/**
 * Why a list of source ranges is the whole internet, or undefined. "The internet" is defined
 * and sourced in lib/private/ip.ts.
 */
export function worldCoverageProblem(blocks: readonly Cidr[]): string | undefined {
  const coverage = internetCoverage(blocks);
  if (!coverage.ipv4 && !coverage.ipv6) return undefined;
  return `together ${coveringBlocks(blocks, coverage).map((b) => b.text).join(", ")} cover ${describeCoverage(coverage)}`;
}

/** A network or subnetwork reference, read. */
export interface NetworkRef {
  readonly name: string;
  /** The project in the path, when a path or self link was given. */
  readonly project?: string;
  /** The region in a subnetwork path. */
  readonly region?: string;
}

const NAME = "[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?";
const PROJECT = "[a-z][a-z0-9-]{4,28}[a-z0-9]";
const REGION_PART = "[a-z]+-[a-z]+[0-9]{1,2}";
const SELF_LINK_PREFIX = "(?:https://(?:www|compute)\\.googleapis\\.com/compute/(?:v1|beta|alpha)/)?";
const NETWORK_PATH = new RegExp(`^${SELF_LINK_PREFIX}projects/(${PROJECT})/global/networks/(${NAME})$`);
const SUBNETWORK_PATH = new RegExp(`^${SELF_LINK_PREFIX}projects/(${PROJECT})/regions/(${REGION_PART})/subnetworks/(${NAME})$`);

/**
 * Reads `default`, `projects/p/global/networks/default` or its self link
 * (`https://www.googleapis.com/compute/v1/projects/p/global/networks/default`), and the same
 * three forms of a subnetwork (`projects/p/regions/r/subnetworks/s`). A path of the other
 * kind (a subnetwork where a network is expected) is a problem, as is anything else.
 */
export function parseNetworkRef(value: string, kind: "network" | "subnetwork"): NetworkRef | { problem: string } {
  if (new RegExp(`^${NAME}$`).test(value)) return { name: value };
  const network = NETWORK_PATH.exec(value);
  const subnetwork = SUBNETWORK_PATH.exec(value);
  if (kind === "network" && network) return { project: network[1], name: network[2] };
  if (kind === "subnetwork" && subnetwork) return { project: subnetwork[1], region: subnetwork[2], name: subnetwork[3] };
  if (kind === "network" && subnetwork) return { problem: "a network, not a subnetwork: this path names a subnetwork (pass it as network.existingSubnetwork)" };
  if (kind === "subnetwork" && network) return { problem: "a subnetwork, not a network: this path names a network (pass it as network.existingNetwork)" };
  return {
    problem: kind === "network"
      ? 'a network name (e.g. "default", 1-63 lowercase letters, digits or hyphens), its path "projects/<project>/global/networks/<name>" or its self link "https://www.googleapis.com/compute/v1/projects/<project>/global/networks/<name>"'
      : 'a subnetwork name (e.g. "default"), its path "projects/<project>/regions/<region>/subnetworks/<name>" or its self link "https://www.googleapis.com/compute/v1/projects/<project>/regions/<region>/subnetworks/<name>"',
  };
}
