// IP addresses and CIDR ranges, parsed by the rules of their RFCs (no loose regex), and the
// one question both validation and the policy checks ask of a list of ranges: does it cover
// the whole internet? Used for `access.allowedSourceRanges`, `access.internalSourceRanges`,
// `network.subnetCidr` and every firewall rule MlflowChecks reads.
//
// What "the whole internet" means here (decided, with its sources):
// - IPv4: every address except the blocks that never appear as a source on the internet:
//   the blocks the IANA IPv4 Special-Purpose Address Registry marks "Globally Reachable:
//   False" (RFC 6890 and updates: this network, RFC 1918, shared address space RFC 6598,
//   loopback, link-local, IETF protocol assignments, documentation RFC 5737, benchmarking
//   RFC 2544, reserved 240/4, limited broadcast), plus multicast 224.0.0.0/4 (RFC 5771: a
//   destination, never a source). So 0.0.0.0/1 + 128.0.0.0/1 is the internet, and so is a
//   list that leaves out only 10.0.0.0/8.
//   (https://www.iana.org/assignments/iana-ipv4-special-registry/)
// - IPv6: global unicast 2000::/3, the only block IANA allocates for global unicast (IANA
//   "Internet Protocol Version 6 Address Space", RFC 4291 section 2.4, RFC 3587), less the
//   documentation prefixes 2001:db8::/32 (RFC 3849) and 3fff::/20 (RFC 9637). So ::/0,
//   2000::/3, or 2000::/4 + 3000::/4 are the IPv6 internet; fc00::/7 (ULA) is not.
//   (https://www.iana.org/assignments/ipv6-address-space/)
// The two families are judged apart: a firewall source range of one family never matches
// packets of the other, so ::ffff:0:0/96 (IPv4-mapped) is not the IPv4 internet.

/** An IPv4 or IPv6 address as a number. */
export interface IpAddress {
  readonly version: 4 | 6;
  readonly value: bigint;
}

/** A parsed CIDR block. */
export interface Cidr {
  readonly version: 4 | 6;
  /** First address of the block (host bits cleared). */
  readonly first: bigint;
  /** Last address of the block. */
  readonly last: bigint;
  readonly prefix: number;
  /** The address as written had bits set beyond the prefix (e.g. 10.0.0.1/24). */
  readonly hostBitsSet: boolean;
  /** The text as given. */
  readonly text: string;
}

/** Why a text is not an address or a block. */
export interface IpError {
  readonly error: string;
}

export const isIpError = (x: unknown): x is IpError => typeof x === "object" && x !== null && "error" in x;

const BITS = { 4: 32, 6: 128 } as const;

/**
 * A dotted-quad IPv4 address: exactly four decimal octets 0-255. A leading zero ("010") is
 * refused: inet_aton reads it as octal (010 = 8) while others read it as decimal, so the same
 * text names two addresses (RFC 6943 section 3.1.1; Python's ipaddress refuses it since
 * 3.9.5, CVE-2021-29921). Shorthand forms ("10.1", "0x0a000001") are refused for the same reason.
 */
export function parseIpv4(text: string): IpAddress | IpError {
  const parts = text.split(".");
  if (parts.length !== 4) return { error: "an IPv4 address has four dot-separated numbers" };
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return { error: `"${part}" is not a decimal number from 0 to 255` };
    if (part.length > 1 && part.startsWith("0")) {
      return { error: `"${part}" has a leading zero, which some tools read as octal; write it without (e.g. ${Number(part)})` };
    }
    const n = Number(part);
    if (n > 255) return { error: `${n} is more than 255` };
    value = (value << 8n) | BigInt(n);
  }
  return { version: 4, value };
}

/**
 * An IPv6 address in the text forms of RFC 4291 section 2.2: eight groups of 1-4 hex digits;
 * "::" once, for one or more groups of zeros; the last 32 bits may be a dotted quad
 * (::ffff:192.0.2.1). Zone ids (fe80::1%eth0, RFC 4007 section 11) name an interface of one
 * host and mean nothing in a firewall rule or a route, so they are refused, as are brackets.
 */
export function parseIpv6(text: string): IpAddress | IpError {
  if (text.includes("%")) return { error: "a zone id (%…) names an interface of one host; it is not allowed in a range" };
  if (/[[\]]/.test(text)) return { error: "write the address without brackets" };
  const halves = text.split("::");
  if (halves.length > 2) return { error: '"::" may appear only once' };
  const groupsOf = (s: string): string[] | IpError => {
    if (s === "") return [];
    const groups = s.split(":");
    if (groups.some((g) => g === "")) return { error: 'an empty group: use "::" once for a run of zero groups' };
    return groups;
  };
  const head = groupsOf(halves[0]);
  const tail = halves.length === 2 ? groupsOf(halves[1]) : [];
  if (isIpError(head)) return head;
  if (isIpError(tail)) return tail;
  // An embedded IPv4 address may only be the last element and stands for two groups.
  const all = [...head, ...tail];
  const last = all[all.length - 1];
  let v4: IpAddress | undefined;
  if (last !== undefined && last.includes(".")) {
    if (halves.length === 2 && tail.length === 0) return { error: "the embedded IPv4 part must come last, after \"::\"" };
    const parsed = parseIpv4(last);
    if (isIpError(parsed)) return { error: `embedded IPv4 part: ${parsed.error}` };
    v4 = parsed;
    (tail.length > 0 ? tail : head).pop();
  }
  for (const g of [...head, ...tail]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return { error: `"${g}" is not a group of 1-4 hex digits` };
  }
  const explicit = head.length + tail.length + (v4 ? 2 : 0);
  if (halves.length === 1 && explicit !== 8) return { error: `${explicit} groups where 8 are needed (or use "::")` };
  if (halves.length === 2 && explicit > 7) return { error: '"::" must stand for at least one group, but 8 are already written' };
  const zeros = 8 - explicit;
  const groups = [...head, ...Array<string>(halves.length === 2 ? zeros : 0).fill("0"), ...tail];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g, 16));
  if (v4) value = (value << 32n) | v4.value;
  return { version: 6, value };
}

/** An IPv4 or IPv6 address, by the rules above. */
export function parseIp(text: string): IpAddress | IpError {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/**
 * A CIDR block "address/prefix". The prefix is a decimal 0-32 (IPv4) or 0-128 (IPv6) without
 * leading zeros. With `requirePrefix: false` a bare address counts as /32 or /128.
 */
export function parseCidr(text: string, options: { requirePrefix?: boolean } = {}): Cidr | IpError {
  if (typeof text !== "string") return { error: "not a string" };
  if (text !== text.trim() || text === "") return { error: "empty, or spaces around the range" };
  const slash = text.split("/");
  if (slash.length > 2) return { error: 'more than one "/"' };
  const [addressText, prefixText] = slash;
  const address = parseIp(addressText);
  if (isIpError(address)) return address;
  const width = BITS[address.version];
  let prefix: number = width;
  if (prefixText === undefined) {
    if (options.requirePrefix ?? true) return { error: `no prefix length: write e.g. ${addressText}/${width} for one address` };
  } else {
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return { error: `"/${prefixText}" is not a prefix length (a number without leading zeros)` };
    prefix = Number(prefixText);
    if (prefix > width) return { error: `/${prefix} is longer than the ${width} bits of an IPv${address.version} address` };
  }
  const hostBits = BigInt(width - prefix);
  const hostMask = (1n << hostBits) - 1n;
  const first = address.value & ~hostMask;
  return { version: address.version, first, last: first | hostMask, prefix, hostBitsSet: (address.value & hostMask) !== 0n, text };
}

/** A block from a literal known to be valid (tables in this library). */
export function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (isIpError(parsed)) throw new Error(`bad built-in range ${text}: ${parsed.error}`);
  return parsed;
}

/** The block written back in its canonical network form, e.g. "10.0.0.0/24" for 10.0.0.1/24. */
export function formatCidr(block: Cidr): string {
  if (block.version === 4) {
    const octets = [24n, 16n, 8n, 0n].map((s) => String((block.first >> s) & 255n));
    return `${octets.join(".")}/${block.prefix}`;
  }
  const groups = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((block.first >> s) & 0xffffn).toString(16));
  // RFC 5952 section 4.2: the longest run (of two or more) of zero groups becomes "::".
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  const text = best.start < 0
    ? groups.join(":")
    : `${groups.slice(0, best.start).join(":")}::${groups.slice(best.start + best.length).join(":")}`;
  return `${text}/${block.prefix}`;
}

/** Whether every address of `inner` lies in `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.version === inner.version && outer.first <= inner.first && inner.last <= outer.last;
}

/** Whether the two blocks share at least one address. */
export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.first <= b.last && b.first <= a.last;
}

interface Interval {
  first: bigint;
  last: bigint;
}

/** Sorted, merged intervals of the blocks of one family. */
function merged(blocks: readonly Cidr[], version: 4 | 6): Interval[] {
  const sorted = blocks.filter((b) => b.version === version).map((b) => ({ first: b.first, last: b.last }))
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: Interval[] = [];
  for (const i of sorted) {
    const top = out[out.length - 1];
    if (top && i.first <= top.last + 1n) {
      if (i.last > top.last) top.last = i.last;
    } else {
      out.push({ ...i });
    }
  }
  return out;
}

/** `universe` minus the blocks, as intervals. */
function complement(universe: Cidr, holes: readonly Cidr[]): Interval[] {
  const out: Interval[] = [];
  let next = universe.first;
  for (const h of merged(holes.filter((x) => overlaps(x, universe)), universe.version)) {
    if (h.first > next) out.push({ first: next, last: h.first - 1n });
    if (h.last + 1n > next) next = h.last + 1n;
  }
  if (next <= universe.last) out.push({ first: next, last: universe.last });
  return out;
}

/** Whether the union of `blocks` contains every interval of `target`. */
function coversIntervals(blocks: readonly Cidr[], version: 4 | 6, target: readonly Interval[]): boolean {
  const union = merged(blocks, version);
  return target.every((t) => union.some((u) => u.first <= t.first && t.last <= u.last));
}

/** IPv4 blocks that are never a source on the internet (see the file header). */
export const NOT_INTERNET_V4: readonly Cidr[] = [
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
  "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
].map(cidr);
/** IPv6 global unicast, the IPv6 internet (see the file header). */
export const IPV6_GLOBAL_UNICAST = cidr("2000::/3");
export const IPV6_DOCUMENTATION: readonly Cidr[] = ["2001:db8::/32", "3fff::/20"].map(cidr);

const INTERNET_V4 = complement(cidr("0.0.0.0/0"), NOT_INTERNET_V4);
const INTERNET_V6 = complement(IPV6_GLOBAL_UNICAST, IPV6_DOCUMENTATION);

/** Which internets a set of blocks covers, taken together. */
export interface InternetCoverage {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

export function internetCoverage(blocks: readonly Cidr[]): InternetCoverage {
  return { ipv4: coversIntervals(blocks, 4, INTERNET_V4), ipv6: coversIntervals(blocks, 6, INTERNET_V6) };
}

/** The blocks of the address families that `coverage` found covered: the ones to name in a message. */
export function coveringBlocks(blocks: readonly Cidr[], coverage: InternetCoverage): Cidr[] {
  return blocks.filter((b) => (coverage.ipv4 && b.version === 4) || (coverage.ipv6 && b.version === 6));
}

/** A sentence for a message: "every IPv4 address on the internet" / "… and every IPv6 …". */
export function describeCoverage(coverage: InternetCoverage): string {
  const parts = [coverage.ipv4 ? "IPv4" : "", coverage.ipv6 ? "IPv6" : ""].filter(Boolean);
  return parts.length === 0 ? "" : `every ${parts.join(" and every ")} address on the internet`;
}
