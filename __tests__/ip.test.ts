// lib/private/ip.ts: IPv4 and IPv6 parsed by their RFCs (RFC 4291 section 2.2 for IPv6 text,
// dotted quads without ambiguous leading zeros), CIDR blocks, and whether a set of blocks
// covers the whole IPv4 or IPv6 internet (defined and sourced in the module's header).
import {
  Cidr, IpAddress, formatCidr, internetCoverage, isIpError, parseCidr, parseIp,
} from "../lib/private/ip";
import { parseNetworkRef } from "../lib/private/network-values";

const value = (text: string): bigint => {
  const parsed = parseIp(text);
  if (isIpError(parsed)) throw new Error(`${text}: ${parsed.error}`);
  return (parsed as IpAddress).value;
};
const block = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if (isIpError(parsed)) throw new Error(`${text}: ${parsed.error}`);
  return parsed;
};

describe("IPv4 addresses", () => {
  test.each([
    ["0.0.0.0", 0n], ["255.255.255.255", 0xffffffffn], ["203.0.113.7", 0xcb007107n], ["10.0.0.1", 0x0a000001n],
  ])("%s", (text, expected) => {
    expect(value(text)).toBe(expected);
  });
  test.each([
    ["010.0.0.1", /leading zero/], ["1.2.3", /four/], ["1.2.3.4.5", /four/], ["256.0.0.1", /more than 255/],
    ["0x0a.0.0.1", /decimal/], ["1..2.3", /decimal/], ["", /four/], [" 1.2.3.4", /decimal/],
  ])("%s is refused", (text, reason) => {
    const parsed = parseIp(text);
    expect(isIpError(parsed) && parsed.error).toMatch(reason);
  });
});

describe("IPv6 addresses (RFC 4291 section 2.2)", () => {
  test.each([
    ["::", 0n],
    ["::1", 1n],
    ["1::", 1n << 112n],
    ["2001:db8::1", 0x20010db8000000000000000000000001n],
    ["2001:DB8:0:0:0:0:0:1", 0x20010db8000000000000000000000001n],
    ["2001:0db8:0000::0001", 0x20010db8000000000000000000000001n],
    ["::ffff:203.0.113.7", 0xffffcb007107n],
    ["64:ff9b::192.0.2.33", 0x0064ff9b0000000000000000c0000221n],
    ["1:2:3:4:5:6:1.2.3.4", 0x00010002000300040005000601020304n],
    ["fe80::1", 0xfe800000000000000000000000000001n],
  ])("%s", (text, expected) => {
    expect(value(text)).toBe(expected);
  });
  test.each([
    ["fe80::1%eth0", /zone id/], ["[::1]", /brackets/], ["1::2::3", /only once/], ["1:::2", /empty group/],
    [":1::", /empty group/], ["1:2:3:4:5:6:7", /7 groups where 8/], ["1:2:3:4:5:6:7:8:9", /9 groups/],
    ["1:2:3:4:5:6:7::8", /at least one group/], ["12345::", /1-4 hex digits/], ["g::", /hex/],
    ["1.2.3.4::", /must come last/], ["::1.2.3.256", /embedded IPv4 part/], ["::010.0.0.1", /leading zero/],
  ])("%s is refused", (text, reason) => {
    const parsed = parseIp(text);
    expect(isIpError(parsed) && parsed.error).toMatch(reason);
  });
});

describe("CIDR blocks", () => {
  test.each([
    ["10.0.0.0/8", 4, 8, false, "10.0.0.0/8"],
    ["10.1.2.3/8", 4, 8, true, "10.0.0.0/8"],
    ["0.0.0.0/0", 4, 0, false, "0.0.0.0/0"],
    ["2001:db8::/32", 6, 32, false, "2001:db8::/32"],
    ["2001:db8::1/32", 6, 32, true, "2001:db8::/32"],
    ["::/0", 6, 0, false, "::/0"],
    ["2001:0db8:0:0:1:0:0:0/80", 6, 80, false, "2001:db8:0:0:1::/80"],
  ])("%s", (text, version, prefix, hostBitsSet, canonical) => {
    const b = block(text);
    expect({ version: b.version, prefix: b.prefix, hostBitsSet: b.hostBitsSet }).toEqual({ version, prefix, hostBitsSet });
    expect(formatCidr(b)).toBe(canonical);
  });
  test.each([
    ["10.0.0.0", /no prefix length/], ["10.0.0.0/33", /longer than the 32 bits/], ["::/129", /longer than the 128 bits/],
    ["10.0.0.0/08", /leading zeros/], ["10.0.0.0/-1", /prefix length/], ["10.0.0.0/8/8", /more than one/],
    ["10.0.0.0/ 8", /prefix length/], [" 10.0.0.0/8", /spaces/],
  ])("%s is refused", (text, reason) => {
    const parsed = parseCidr(text);
    expect(isIpError(parsed) && parsed.error).toMatch(reason);
  });
  test("a bare address is one host where the caller allows it (GCP firewall rules do)", () => {
    expect(parseCidr("203.0.113.7", { requirePrefix: false })).toMatchObject({ prefix: 32, hostBitsSet: false });
    expect(parseCidr("2001:db8::7", { requirePrefix: false })).toMatchObject({ prefix: 128 });
  });
});

describe("the whole internet, covered by a set of blocks", () => {
  const coverage = (...texts: string[]) => internetCoverage(texts.map(block));
  test.each([
    ["0.0.0.0/0", ["0.0.0.0/0"], { ipv4: true, ipv6: false }],
    ["two halves", ["0.0.0.0/1", "128.0.0.0/1"], { ipv4: true, ipv6: false }],
    ["overlapping and unordered", ["128.0.0.0/1", "0.0.0.0/2", "0.0.0.0/1"], { ipv4: true, ipv6: false }],
    ["all but RFC 1918", ["0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/3", "160.0.0.0/5", "168.0.0.0/6", "172.0.0.0/12", "172.32.0.0/11", "172.64.0.0/10", "172.128.0.0/9", "173.0.0.0/8", "174.0.0.0/7", "176.0.0.0/4", "192.0.0.0/9", "192.128.0.0/11", "192.160.0.0/13", "192.169.0.0/16", "192.170.0.0/15", "192.172.0.0/14", "192.176.0.0/12", "192.192.0.0/10", "193.0.0.0/8", "194.0.0.0/7", "196.0.0.0/6", "200.0.0.0/5", "208.0.0.0/4"], { ipv4: true, ipv6: false }],
    ["::/0", ["::/0"], { ipv4: false, ipv6: true }],
    ["2000::/3", ["2000::/3"], { ipv4: false, ipv6: true }],
    ["2000::/3 without the documentation prefixes", ["2000::/8", "2100::/8", "2200::/7", "2400::/6", "2800::/5", "3000::/5", "3800::/6", "3c00::/7", "3e00::/8", "3f00::/9", "3f80::/10", "3fc0::/11", "3fe0::/12", "3ff0::/13", "3ff8::/14", "3ffc::/15", "3ffe::/16", "3fff:1000::/20", "3fff:2000::/19", "3fff:4000::/18", "3fff:8000::/17"], { ipv4: false, ipv6: true }],
    ["both", ["0.0.0.0/0", "::/0"], { ipv4: true, ipv6: true }],
  ])("%s covers it", (_case, texts, expected) => {
    expect(coverage(...texts)).toEqual(expected);
  });
  test.each([
    ["one half", ["0.0.0.0/1"]],
    ["all but one public /8", ["0.0.0.0/2", "64.0.0.0/3", "96.0.0.0/6", "100.0.0.0/8", "101.0.0.0/8", "102.0.0.0/7", "104.0.0.0/5", "112.0.0.0/4", "128.0.0.0/1"].filter((b) => b !== "101.0.0.0/8")],
    ["RFC 1918 only", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]],
    ["IPv4-mapped IPv6 is IPv6, not the IPv4 internet", ["::ffff:0:0/96"]],
    ["unique local IPv6", ["fc00::/7"]],
    ["half of 2000::/3", ["2000::/4"]],
    ["2000::/3 less 3fff:1000::/20, which is not documentation", ["2000::/4", "3000::/5", "3800::/6", "3c00::/7", "3e00::/8", "3f00::/9", "3f80::/10", "3fc0::/11", "3fe0::/12", "3ff0::/13", "3ff8::/14", "3ffc::/15", "3ffe::/16", "3fff:2000::/19", "3fff:4000::/18", "3fff:8000::/17"]],
    ["nothing", []],
  ])("%s does not", (_case, texts) => {
    expect(coverage(...texts)).toEqual({ ipv4: false, ipv6: false });
  });
});

describe("network references", () => {
  test.each([
    ["default", "network", { name: "default" }],
    ["projects/acme-ml-prod/global/networks/prod", "network", { project: "acme-ml-prod", name: "prod" }],
    ["https://www.googleapis.com/compute/v1/projects/acme-ml-prod/global/networks/prod", "network", { project: "acme-ml-prod", name: "prod" }],
    ["https://compute.googleapis.com/compute/beta/projects/acme-ml-prod/global/networks/prod", "network", { project: "acme-ml-prod", name: "prod" }],
    ["projects/acme-ml-prod/regions/europe-west1/subnetworks/ml", "subnetwork", { project: "acme-ml-prod", region: "europe-west1", name: "ml" }],
  ] as const)("%s as a %s", (text, kind, expected) => {
    expect(parseNetworkRef(text, kind)).toEqual(expected);
  });
  test.each([
    ["My-Net", "network"], ["net_1", "network"], ["projects/acme-ml-prod/global/networks/", "network"],
    ["projects/acme-ml-prod/regions/europe-west1/subnetworks/ml", "network"], ["projects/p/global/networks/x", "network"],
    ["http://www.googleapis.com/compute/v1/projects/acme-ml-prod/global/networks/prod", "network"],
  ] as const)("%s is not a %s", (text, kind) => {
    expect(parseNetworkRef(text, kind)).toHaveProperty("problem");
  });
});
