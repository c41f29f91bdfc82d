/**
 * Offline mode and zones: `zoneadm install` and `pkg set-publisher` fetch from
 * the template's IPS publishers, so offline a network publisher is refused
 * before anything changes, and a file:// repository on the host is used.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { registeredZones, zoneTestEnv } from "./zone_harness.ts";

/** A call that only reads the system. */
const isQuery = (argv: string[]) =>
  argv.includes("list") || argv.includes("info") || argv[0] === "show-vnic";

Deno.test("offline: zone create with an https publisher is refused and changes nothing", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["publisher", "add", "extra.org", "https://pkg.example.org/extra"]);
    await t.ok(["template", "edit", "ipkg", "--publisher", "extra.org"]);
    const before = (await t.fake.calls()).length;
    const r = await t.zone(["create", "air1"], { VMCTL_OFFLINE: "1" });
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "zmgr::create::offline_publisher");
    assertStringIncludes(r.stderr, "extra.org (https://pkg.example.org/extra)");
    const ran = (await t.fake.calls()).slice(before);
    for (const c of ran) assert(isQuery(c.argv), JSON.stringify(c));
    assertEquals(await registeredZones(t.root), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("offline (--offline): zone create installs from a file:// publisher", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["publisher", "add", "local.org", "file:///export/repo"]);
    await t.ok(["template", "edit", "ipkg", "--publisher", "local.org"]);
    await t.ok(["create", "air2", "--offline"]);
    assertEquals(await registeredZones(t.root), ["air2"]);
    const install = (await t.fake.calls()).find((c) => c.argv.includes("install"));
    assertEquals(install?.argv.slice(-2), ["-P", "local.org=file:///export/repo"]);
  } finally {
    await t.cleanup();
  }
});
