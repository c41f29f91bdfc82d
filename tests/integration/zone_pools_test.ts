/**
 * Pools (issue #21 item 9): a warning for overlapping networks, reserved
 * ranges, and dual-stack zones (one address per pool, one net per address).
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { createPool, type ZoneTestEnv, zoneTestEnv } from "./zone_harness.ts";

/** The address a create in `pool` would get now (a dry run changes nothing). */
async function nextAddress(t: ZoneTestEnv, pool: string): Promise<string> {
  return JSON.parse(await t.ok(["create", "probe", "--pool", pool, "--dry-run", "--json"])).zone
    .address;
}

Deno.test("pool create warns when the new network overlaps an existing pool's, and only then", async () => {
  const t = await zoneTestEnv();
  try {
    const wide = await createPool(t, "wide", "10.0.0.0/16", "10.0.0.1", "--stub", "igb0");
    assertStringIncludes(
      wide.stderr,
      "warn: pool wide (10.0.0.0/16) overlaps pool default (10.0.0.0/24)",
    );
    const apart = await createPool(t, "apart", "10.9.0.0/24", "10.9.0.1");
    assertEquals(apart.stderr, "");
  } finally {
    await t.cleanup();
  }
});

Deno.test("a reserved range is never handed out nor accepted as --address; unreserve frees it", async () => {
  const t = await zoneTestEnv();
  try {
    const reserve = ["--reserve", "10.2.0.2-10.2.0.9", "--reserve", "10.2.0.11"];
    await createPool(t, "res", "10.2.0.0/24", "10.2.0.1", "--stub", "igb0", ...reserve);
    const file = await Deno.readTextFile(`${t.root}/pools/res.kdl`);
    assertStringIncludes(file, 'reserve "10.2.0.2-10.2.0.9" "10.2.0.11"');
    assertEquals(await nextAddress(t, "res"), "10.2.0.10/24");

    await t.ok(["pool", "edit", "res", "--reserve", "10.2.0.10-10.2.0.19"]);
    assertEquals(await nextAddress(t, "res"), "10.2.0.20/24");
    const refused = await t.zone(["create", "z2", "--pool", "res", "--address", "10.2.0.15"]);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, "zmgr::address::reserved");
    const shown = JSON.parse(await t.ok(["pool", "show", "res", "--json"]));
    assertEquals(shown.reserved, ["10.2.0.2-10.2.0.9", "10.2.0.11", "10.2.0.10-10.2.0.19"]);
    // 253 hosts besides the gateway; 10.2.0.2-10.2.0.19 (18, .11 counted once) reserved.
    assertEquals(shown.size, String(253 - 18)); // bigints are written as strings

    await t.ok(["pool", "edit", "res", "--unreserve", "10.2.0.10-10.2.0.19"]);
    assertEquals(await nextAddress(t, "res"), "10.2.0.10/24");
  } finally {
    await t.cleanup();
  }
});

Deno.test("a dual-stack zone holds a v4 and a v6 address on one VNIC; neither is handed out again", async () => {
  const t = await zoneTestEnv();
  try {
    await createPool(t, "v6", "2001:db8::/64", "2001:db8::1", "--stub", "igb0");
    const out = await t.ok(["create", "ds", "--pool", "default", "--pool", "v6"]);
    assertStringIncludes(out, "created zone ds: 10.0.0.2/24, 2001:db8::2/64 from pool default");

    const zone = (await t.fake.state()).zones.find((z) => z.name === "ds")!;
    assertEquals(zone.state, "running");
    assertEquals(zone.resources.filter((r) => r.type === "net").map((r) => r.props), [
      { physical: "ds0", "allowed-address": "10.0.0.2/24", defrouter: "10.0.0.1" },
      { physical: "ds0", "allowed-address": "2001:db8::2/64", defrouter: "2001:db8::1" },
    ]);
    const entry = await Deno.readTextFile(`${t.root}/zones/ds.kdl`);
    assertStringIncludes(entry, 'address "10.0.0.2/24"');
    assertStringIncludes(entry, 'address "2001:db8::2/64"');

    assertEquals(await nextAddress(t, "default"), "10.0.0.3/24");
    assertEquals(await nextAddress(t, "v6"), "2001:db8::3/64");
    const again = await t.zone(["create", "z6", "--pool", "v6", "--address", "2001:db8::2"]);
    assertEquals(again.code, 1);
    assertStringIncludes(again.stderr, "zmgr::address::in_use");

    // The ledger also holds when the registry forgets the zone: the live
    // system's nets keep both addresses taken.
    await Deno.remove(`${t.root}/zones/ds.kdl`);
    assertEquals(await nextAddress(t, "default"), "10.0.0.3/24");
    assertEquals(await nextAddress(t, "v6"), "2001:db8::3/64");
  } finally {
    await t.cleanup();
  }
});

Deno.test("a zone's pools must agree on the stub its one VNIC goes over", async () => {
  const t = await zoneTestEnv();
  try {
    await createPool(t, "v6", "2001:db8::/64", "2001:db8::1", "--stub", "net0");
    const before = await t.fake.snapshot();
    const r = await t.zone(["create", "ds", "--pool", "default", "--pool", "v6"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "zmgr::pool::stub_mismatch");
    assertEquals(await t.fake.snapshot(), before);
  } finally {
    await t.cleanup();
  }
});
