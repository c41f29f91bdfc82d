/**
 * Only the system's own "does not exist" answer means absent: any other
 * failure of a query stops the command before it changes anything.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { registeredZones, zoneTestEnv } from "./zone_harness.ts";

Deno.test("destroy stops with a diagnostic when zoneadm fails, and changes nothing", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "d1"]);
    const entry = await Deno.readTextFile(`${t.root}/zones/d1.kdl`);
    const before = await t.fake.snapshot();
    const r = await t.zone(["destroy", "d1"], { FAKE_ILLUMOS_FAIL: "zoneadm:list" });
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "zmgr::system::query_failed");
    assertStringIncludes(r.stderr, "zoneadm -z d1 list -p");
    assertStringIncludes(r.stderr, "Permission denied");
    assertEquals(await t.fake.snapshot(), before, "the zone, its VNIC and dataset are untouched");
    assertEquals(await registeredZones(t.root), ["d1"]);
    assertEquals(await Deno.readTextFile(`${t.root}/zones/d1.kdl`), entry, "address still held");
  } finally {
    await t.cleanup();
  }
});

Deno.test("destroy stops when dladm show-vnic fails for another reason than not found", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "d2", "--no-boot"]);
    await t.ok(["destroy", "d2", "--keep-registry"]);
    const r = await t.zone(["destroy", "d2"], { FAKE_ILLUMOS_FAIL: "dladm:show-vnic" });
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "zmgr::system::query_failed");
    assertEquals(await registeredZones(t.root), ["d2"]);
  } finally {
    await t.cleanup();
  }
});
