/**
 * The ledger: a zone owns one address per net, import records them all, and
 * allocation skips every address the registry or the live system holds.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { type ZoneTestEnv, zoneTestEnv } from "./zone_harness.ts";

/** Zone `hand`, installed on the system with `address` on VNIC hand0, unknown to the registry. */
async function zoneMadeByHand(t: ZoneTestEnv, address: string): Promise<void> {
  await t.fake.addVnic("hand0", "igb0");
  await t.fake.addZone({
    name: "hand",
    brand: "ipkg",
    state: "installed",
    net: [{ physical: "hand0", allowedAddress: address, defrouter: "10.0.0.1" }],
  });
}

Deno.test("a zone made by hand keeps its address: create skips it and refuses it", async () => {
  const t = await zoneTestEnv();
  try {
    await zoneMadeByHand(t, "10.0.0.2/24");
    const taken = await t.zone(["create", "n1", "--address", "10.0.0.2", "--no-boot"]);
    assertEquals(taken.code, 1, taken.stderr);
    assertStringIncludes(taken.stderr, "zmgr::address::in_use");
    assertStringIncludes(taken.stderr, "zone hand, which is not in the registry");
    assertStringIncludes(await t.ok(["create", "n2", "--no-boot"]), "10.0.0.3/24");
  } finally {
    await t.cleanup();
  }
});

Deno.test("an address the registry holds for a zone the system lacks is not handed out", async () => {
  const t = await zoneTestEnv();
  try {
    await Deno.writeTextFile(
      `${t.root}/zones/ghost.kdl`,
      'brand "ipkg"\naddress "10.0.0.2/24"\nzonepath "/zones/ghost"\n',
    );
    assertStringIncludes(await t.ok(["create", "n1", "--no-boot"]), "10.0.0.3/24");
    const taken = await t.zone(["create", "n2", "--address", "10.0.0.2", "--no-boot"]);
    assertStringIncludes(taken.stderr, "zmgr::address::in_use");
  } finally {
    await t.cleanup();
  }
});

Deno.test("import records every net's address, and none of them is handed out again", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["pool", "edit", "default", "--range", "10.0.0.6-10.0.0.20"]);
    await t.fake.addZone({
      name: "multi",
      brand: "ipkg",
      state: "installed",
      net: [
        { physical: "multi0", allowedAddress: "10.0.0.6/24", defrouter: "10.0.0.1" },
        { physical: "multi1", allowedAddress: "10.0.0.7/24" },
        { physical: "multi2", allowedAddress: "10.0.0.8/24" },
      ],
    });
    const res = JSON.parse(await t.ok(["import", "--json"]));
    assertEquals(res[0].addresses, ["10.0.0.6/24", "10.0.0.7/24", "10.0.0.8/24"]);
    const entry = await Deno.readTextFile(`${t.root}/zones/multi.kdl`);
    assertStringIncludes(
      entry,
      'address "10.0.0.6/24"\naddress "10.0.0.7/24"\naddress "10.0.0.8/24"',
    );
    assertStringIncludes(await t.ok(["create", "n1", "--no-boot"]), "10.0.0.9/24");
    for (const a of ["10.0.0.7", "10.0.0.8"]) {
      const r = await t.zone(["create", "n2", "--address", a, "--no-boot"]);
      assertStringIncludes(r.stderr, "zmgr::address::in_use");
    }
    const show = JSON.parse(await t.ok(["pool", "show", "default", "--json"]));
    assertEquals(show.allocations.map((a: { address: string }) => a.address), [
      "10.0.0.6",
      "10.0.0.7",
      "10.0.0.8",
      "10.0.0.9",
    ]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("pool show --live names a registered zone re-addressed by hand and a zone outside the registry", async () => {
  const t = await zoneTestEnv();
  try {
    assertStringIncludes(await t.ok(["create", "web", "--no-boot"]), "10.0.0.2/24");
    const edit = await t.fake.run("zonecfg", ["-z", "web", "-f", "-"], {
      stdin: "select net physical=web0\nset allowed-address=10.0.0.9/24\nend\ncommit\n",
    });
    assertEquals(edit.code, 0, edit.stderr);
    await zoneMadeByHand(t, "10.0.0.5/24");
    const live = JSON.parse(await t.ok(["pool", "show", "default", "--live", "--json"]));
    assertEquals(live.problems.length, 2, live.problems.join("\n"));
    assertStringIncludes(live.problems[0], "zone web holds 10.0.0.9 on the system");
    assertStringIncludes(live.problems[0], "records 10.0.0.2/24");
    assertStringIncludes(
      live.problems[1],
      "zone hand, which is not in the registry, holds 10.0.0.5",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("pool show without --live reads only the registry", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "web", "--no-boot"]);
    await zoneMadeByHand(t, "10.0.0.5/24");
    const before = (await t.fake.calls()).length;
    const shown = JSON.parse(await t.ok(["pool", "show", "default", "--json"]));
    assertEquals(shown.problems, []);
    assertEquals((await t.fake.calls()).length, before, "no command ran");
  } finally {
    await t.cleanup();
  }
});
