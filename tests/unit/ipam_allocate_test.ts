import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import {
  allocate,
  checkRequested,
  formatIp,
  type IpAddr,
  type IpRange,
  parseCidr,
  parseIp,
  poolBounds,
  type PoolRange,
  poolSize,
} from "../../lib/ipam.ts";

const ip = (s: string): IpAddr => parseIp(s)!;
const one = (s: string): IpRange => ({ first: ip(s), last: ip(s) });
const span = (a: string, b: string): IpRange => ({ first: ip(a), last: ip(b) });
function pool(network: string, extra: Partial<PoolRange> = {}): PoolRange {
  return { name: "p", network: parseCidr(network)!, reserved: [], ...extra };
}
function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert(e instanceof Diagnostic, String(e));
    return e.code;
  }
  throw new Error("expected a diagnostic");
}

Deno.test("allocation starts after the network address", () => {
  assertEquals(formatIp(allocate(pool("10.0.0.0/24"), [])), "10.0.0.1");
});

Deno.test("allocation never hands out the gateway", () => {
  const p = pool("10.0.0.0/24", { gateway: ip("10.0.0.1") });
  assertEquals(formatIp(allocate(p, [])), "10.0.0.2");
});

Deno.test("allocation skips reserved addresses", () => {
  const p = pool("10.0.0.0/24", {
    gateway: ip("10.0.0.1"),
    reserved: [one("10.0.0.2"), one("10.0.0.3")],
  });
  assertEquals(formatIp(allocate(p, [])), "10.0.0.4");
});

Deno.test("allocation returns the lowest free address, filling holes", () => {
  const p = pool("10.0.0.0/24", { gateway: ip("10.0.0.1") });
  assertEquals(formatIp(allocate(p, [ip("10.0.0.2"), ip("10.0.0.4")])), "10.0.0.3");
});

Deno.test("allocation honours the range", () => {
  const p = pool("10.0.0.0/24", { rangeStart: ip("10.0.0.100"), rangeEnd: ip("10.0.0.101") });
  assertEquals(formatIp(allocate(p, [])), "10.0.0.100");
  assertEquals(formatIp(allocate(p, [ip("10.0.0.100")])), "10.0.0.101");
});

Deno.test("addresses used by zones of an overlapping pool count as used", () => {
  // A /24 inside the /16: an entry of the /16 pool at 10.0.1.1 blocks the /24 pool too.
  const inner = pool("10.0.1.0/24");
  assertEquals(formatIp(allocate(inner, [ip("10.0.1.1"), ip("192.168.0.1")])), "10.0.1.2");
});

Deno.test("the IPv4 broadcast address is never handed out", () => {
  const p = pool("10.0.0.0/30", { gateway: ip("10.0.0.1") });
  assertEquals(formatIp(allocate(p, [])), "10.0.0.2");
  assertEquals(code(() => allocate(p, [ip("10.0.0.2")])), "zmgr::pool::exhausted");
});

Deno.test("an exhausted pool is a diagnostic naming the pool's size, with a hint", () => {
  const p = pool("10.0.0.0/29", { gateway: ip("10.0.0.1") });
  const used = ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"].map(ip);
  const err = assertThrows(() => allocate(p, used), Diagnostic);
  assertEquals(err.code, "zmgr::pool::exhausted");
  assert(err.message.includes("all 5 addresses"), err.message);
  assert(err.hint?.includes("--range"));
});

Deno.test("pool size excludes network, broadcast, gateway and reserved addresses", () => {
  assertEquals(poolSize(pool("10.0.0.0/24")), 254n);
  assertEquals(poolSize(pool("10.0.0.0/24", { gateway: ip("10.0.0.1") })), 253n);
  assertEquals(
    poolSize(pool("10.0.0.0/24", { gateway: ip("10.0.0.1"), reserved: [one("10.0.0.9")] })),
    252n,
  );
  assertEquals(
    poolSize(
      pool("10.0.0.0/24", {
        rangeStart: ip("10.0.0.10"),
        rangeEnd: ip("10.0.0.19"),
        gateway: ip("10.0.0.1"),
      }),
    ),
    10n,
  );
  assertEquals(poolSize(pool("10.0.0.0/32")), 0n);
});

Deno.test("IPv6 pools allocate with bigint arithmetic beyond 2^53", () => {
  const p = pool("2001:db8::/64", { gateway: ip("2001:db8::1") });
  assertEquals(formatIp(allocate(p, [ip("2001:db8::2")])), "2001:db8::3");
  assertEquals(poolSize(p), (1n << 64n) - 2n);
  const top = pool("2001:db8::/64", { rangeStart: ip("2001:db8::ffff:ffff:ffff:fffe") });
  assertEquals(formatIp(allocate(top, [])), "2001:db8::ffff:ffff:ffff:fffe");
  assertEquals(
    formatIp(allocate(top, [ip("2001:db8::ffff:ffff:ffff:fffe")])),
    "2001:db8::ffff:ffff:ffff:ffff",
  );
});

Deno.test("IPv4 entries do not block IPv6 allocation", () => {
  const p = pool("::/64");
  assertEquals(formatIp(allocate(p, [ip("0.0.0.1")])), "::1");
});

Deno.test("pool bounds combine the network with the range", () => {
  const p = pool("10.0.0.0/24", { rangeStart: ip("10.0.0.0"), rangeEnd: ip("10.0.0.255") });
  const b = poolBounds(p);
  assertEquals(formatIp({ family: 4, value: b.first }), "10.0.0.1");
  assertEquals(formatIp({ family: 4, value: b.last }), "10.0.0.254");
});

Deno.test("a requested address inside the pool and free is accepted", () => {
  const p = pool("10.0.0.0/24", { gateway: ip("10.0.0.1") });
  assertEquals(formatIp(checkRequested(p, "10.0.0.42", [])), "10.0.0.42");
  assertEquals(formatIp(checkRequested(p, "10.0.0.42/24", [])), "10.0.0.42");
});

Deno.test("a requested address outside the pool is refused", () => {
  const p = pool("10.0.0.0/24");
  assertEquals(code(() => checkRequested(p, "10.0.1.5", [])), "zmgr::address::outside_pool");
  assertEquals(code(() => checkRequested(p, "2001:db8::1", [])), "zmgr::address::outside_pool");
});

Deno.test("the network, broadcast and out-of-range addresses cannot be requested", () => {
  const p = pool("10.0.0.0/24", { rangeStart: ip("10.0.0.10"), rangeEnd: ip("10.0.0.20") });
  assertEquals(code(() => checkRequested(p, "10.0.0.0", [])), "zmgr::address::outside_pool");
  assertEquals(code(() => checkRequested(p, "10.0.0.255", [])), "zmgr::address::outside_pool");
  assertEquals(code(() => checkRequested(p, "10.0.0.21", [])), "zmgr::address::outside_pool");
});

Deno.test("the gateway and reserved addresses cannot be requested", () => {
  const p = pool("10.0.0.0/24", { gateway: ip("10.0.0.1"), reserved: [one("10.0.0.9")] });
  assertEquals(code(() => checkRequested(p, "10.0.0.1", [])), "zmgr::address::reserved");
  assertEquals(code(() => checkRequested(p, "10.0.0.9", [])), "zmgr::address::reserved");
});

Deno.test("a requested address already allocated is refused", () => {
  const p = pool("10.0.0.0/24");
  assertEquals(
    code(() => checkRequested(p, "10.0.0.7", [ip("10.0.0.7")])),
    "zmgr::address::in_use",
  );
});

Deno.test("a requested value that is not an address is refused", () => {
  assertEquals(
    code(() => checkRequested(pool("10.0.0.0/24"), "10.0.0.7;reboot", [])),
    "zmgr::address::invalid",
  );
});

Deno.test("allocating from a /16 with 10,000 used addresses returns the next one", () => {
  const p = pool("10.0.0.0/16", { gateway: ip("10.0.0.1") });
  const used: IpAddr[] = [];
  for (let i = 2; i < 10_002; i++) used.push({ family: 4, value: 0x0a000000n + BigInt(i) });
  assertEquals(formatIp(allocate(p, used)), "10.0.39.18");
});

Deno.test("a reserved range is never handed out, allocated past or requested", () => {
  const p = pool("10.0.0.0/24", {
    gateway: ip("10.0.0.1"),
    reserved: [span("10.0.0.2", "10.0.0.20"), span("10.0.0.15", "10.0.0.30"), one("10.0.0.32")],
  });
  assertEquals(formatIp(allocate(p, [])), "10.0.0.31");
  assertEquals(formatIp(allocate(p, [ip("10.0.0.31")])), "10.0.0.33");
  assertEquals(poolSize(p), 254n - 1n - 29n - 1n);
  assertEquals(code(() => checkRequested(p, "10.0.0.17", [])), "zmgr::address::reserved");
  assertEquals(formatIp(checkRequested(p, "10.0.0.31", [])), "10.0.0.31");
});

Deno.test("a reserved IPv6 range as wide as the pool leaves it exhausted without walking it", () => {
  const p = pool("2001:db8::/64", {
    reserved: [span("2001:db8::1", "2001:db8::ffff:ffff:ffff:fffe")],
  });
  assertEquals(formatIp(allocate(p, [])), "2001:db8::ffff:ffff:ffff:ffff");
  const used = [ip("2001:db8::ffff:ffff:ffff:ffff")];
  assertEquals(code(() => allocate(p, used)), "zmgr::pool::exhausted");
});
