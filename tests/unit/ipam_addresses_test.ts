import { assert, assertEquals } from "../helpers/assert.ts";
import {
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIp,
  isNetwork,
  lastAddress,
  networkAddress,
  parseCidr,
  parseIp,
} from "../../lib/ipam.ts";

const ip = (s: string) => {
  const a = parseIp(s);
  if (!a) throw new Error(`bad test address ${s}`);
  return a;
};
const cidr = (s: string) => {
  const c = parseCidr(s);
  if (!c) throw new Error(`bad test cidr ${s}`);
  return c;
};

Deno.test("IPv4 addresses parse to their 32-bit value", () => {
  assertEquals(ip("10.0.0.1"), { family: 4, value: 0x0a000001n });
  assertEquals(ip("255.255.255.255").value, 0xffffffffn);
  assertEquals(ip("0.0.0.0").value, 0n);
});

Deno.test("malformed IPv4 addresses are rejected", () => {
  for (
    const s of [
      "10.0.0",
      "10.0.0.256",
      "10.0.0.01",
      "10.0.0.1.2",
      "a.b.c.d",
      "",
      "10..0.1",
      " 10.0.0.1",
    ]
  ) {
    assertEquals(parseIp(s), undefined, s);
  }
});

Deno.test("IPv6 addresses parse with :: compression and an embedded IPv4 tail", () => {
  assertEquals(ip("::").value, 0n);
  assertEquals(ip("::1").value, 1n);
  assertEquals(ip("2001:db8::1").value, (0x20010db8n << 96n) | 1n);
  assertEquals(ip("2001:DB8:0:0:0:0:0:1").value, ip("2001:db8::1").value);
  assertEquals(ip("::ffff:10.0.0.1").value, (0xffffn << 32n) | 0x0a000001n);
  assertEquals(ip("fe80::").value, 0xfe80n << 112n);
});

Deno.test("malformed IPv6 addresses are rejected", () => {
  for (
    const s of [
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "g::1",
      ":::",
      "1:2:3:4:5:6:7::8",
    ]
  ) {
    assertEquals(parseIp(s), undefined, s);
  }
});

Deno.test("IPv6 formatting follows RFC 5952 (lower case, longest zero run compressed)", () => {
  assertEquals(formatIp(ip("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
  assertEquals(formatIp(ip("2001:db8:0:1:0:0:0:1")), "2001:db8:0:1::1");
  assertEquals(formatIp(ip("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  assertEquals(formatIp(ip("2001:db8:1:1:1:1:0:1")), "2001:db8:1:1:1:1:0:1");
  assertEquals(formatIp(ip("::")), "::");
  assertEquals(formatIp(ip("::1")), "::1");
  assertEquals(formatIp(ip("fe80::")), "fe80::");
});

Deno.test("formatting round-trips IPv4", () => {
  for (const s of ["10.0.0.1", "192.168.255.0", "0.0.0.0", "255.255.255.255"]) {
    assertEquals(formatIp(ip(s)), s);
  }
});

Deno.test("CIDRs parse with host bits kept and prefix bounded by the family", () => {
  assertEquals(cidr("10.0.0.5/24"), { family: 4, addr: 0x0a000005n, prefix: 24 });
  assertEquals(parseCidr("10.0.0.0/33"), undefined);
  assertEquals(parseCidr("10.0.0.0"), undefined);
  assertEquals(parseCidr("10.0.0.0/024"), undefined);
  assertEquals(cidr("2001:db8::/64").prefix, 64);
  assertEquals(parseCidr("2001:db8::/129"), undefined);
  assertEquals(formatCidr(cidr("2001:DB8::/64")), "2001:db8::/64");
});

Deno.test("network and last address of a CIDR", () => {
  const c = cidr("10.0.0.77/24");
  assertEquals(formatIp({ family: 4, value: networkAddress(c) }), "10.0.0.0");
  assertEquals(formatIp({ family: 4, value: lastAddress(c) }), "10.0.0.255");
  assert(!isNetwork(c));
  assert(isNetwork(cidr("10.0.0.0/24")));
  const v6 = cidr("2001:db8::/64");
  assertEquals(formatIp({ family: 6, value: lastAddress(v6) }), "2001:db8::ffff:ffff:ffff:ffff");
});

Deno.test("containment respects the family", () => {
  assert(cidrContains(cidr("10.0.0.0/24"), ip("10.0.0.200")));
  assert(!cidrContains(cidr("10.0.0.0/24"), ip("10.0.1.0")));
  assert(!cidrContains(cidr("::/0"), ip("10.0.0.1")));
  assert(cidrContains(cidr("2001:db8::/32"), ip("2001:db8:ffff::1")));
});

Deno.test("overlap detection between networks", () => {
  assert(cidrsOverlap(cidr("10.0.0.0/16"), cidr("10.0.5.0/24")));
  assert(cidrsOverlap(cidr("10.0.5.0/24"), cidr("10.0.0.0/16")));
  assert(!cidrsOverlap(cidr("10.0.0.0/24"), cidr("10.0.1.0/24")));
  assert(!cidrsOverlap(cidr("10.0.0.0/8"), cidr("::/0")));
});
