import { assertEquals } from "../helpers/assert.ts";
import { parseCidr, parseIp } from "../../lib/ipam.ts";
import { auditLedger, poolUsage, usedAddresses } from "../../lib/zones/ledger.ts";
import type { Pool, ZoneEntry } from "../../lib/zones/schema.ts";

function zone(name: string, address?: string, pool = "lan"): ZoneEntry {
  return {
    name,
    brand: "ipkg",
    pool,
    addresses: address ? [address] : [],
    zonepath: `/zones/${name}`,
    status: "active",
    imported: false,
  };
}
const lan: Pool = {
  name: "lan",
  network: parseCidr("10.0.0.0/24")!,
  gateway: parseIp("10.0.0.1"),
  reserved: [],
  dns: [],
};

Deno.test("every entry's address counts as used, entries without one are ignored", () => {
  assertEquals(
    usedAddresses([zone("a", "10.0.0.2/24"), zone("b"), zone("c", "2001:db8::2/64")]).length,
    2,
  );
});

Deno.test("the audit reports duplicate addresses and addresses outside the entry's pool", () => {
  const problems = auditLedger(
    [
      zone("a", "10.0.0.2/24"),
      zone("b", "10.0.0.2/24"),
      zone("c", "10.9.0.5/24"),
      zone("d", "10.9.0.6/24", "other"),
    ],
    [lan],
  );
  assertEquals(problems, [
    "zones a and b both hold address 10.0.0.2; edit one of zones/b.kdl or zones/a.kdl",
    "zone c holds 10.9.0.5, which is outside its pool lan (10.0.0.0/24)",
  ]);
});

Deno.test("pool usage counts allocations inside the network, sorted by address", () => {
  const u = poolUsage(lan, [
    zone("z", "10.0.0.30/24"),
    zone("y", "10.0.0.4/24", "other"),
    zone("x", "192.168.0.1/24"),
  ]);
  assertEquals([u.size, u.used, u.free], [253n, 2, 251n]);
  assertEquals(u.allocations.map((a) => [a.zone, a.address]), [["y", "10.0.0.4"], [
    "z",
    "10.0.0.30",
  ]]);
});

Deno.test("every address of a multi-net zone is in use", () => {
  const multi: ZoneEntry = { ...zone("m"), addresses: ["10.0.0.6/24", "10.0.0.7/24"] };
  assertEquals(usedAddresses([multi]).map((a) => a.value), [0x0a000006n, 0x0a000007n]);
});
