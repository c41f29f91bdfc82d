import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { vmctlCommand } from "../helpers/runtime.ts";
import { registeredZones, type ZoneTestEnv, zoneTestEnv } from "./zone_harness.ts";

/** What the system holds (counters like the next debug id legitimately move on). */
async function hostContents(t: ZoneTestEnv): Promise<string> {
  const { zones, links, datasets, publishers, zonePublishers } = await t.fake.state();
  let files: string[] = [];
  try {
    files = [...Deno.readDirSync(`${t.fake.stateDir}/fs/zones`)].map((e) => e.name);
  } catch { /* no zone file systems at all */ }
  return JSON.stringify({ zones, links, datasets, publishers, zonePublishers, files });
}

/**
 * For each fault, create fails, names the failing command with its stderr,
 * and leaves the host and the registry exactly as before.
 */
const CASES: {
  fault: string;
  command: string;
  stderr: string;
  rolledBack: string[];
  /** Undo steps whose step never took effect: the report must not claim them. */
  notRolledBack?: string[];
}[] = [
  {
    fault: "dladm:create-vnic",
    command: "dladm create-vnic -l igb0 r10",
    stderr: "vnic creation over igb0 failed",
    rolledBack: ["ROOT/zones/r1.kdl: remove the registry reservation"],
  },
  {
    fault: "zonecfg:commit",
    command: "zonecfg -z r1 -f -",
    stderr: "Problem saving file",
    rolledBack: ["dladm delete-vnic r10"],
    notRolledBack: ["zonecfg -z r1 delete -F"],
  },
  {
    // zonecfg with a script on stdin goes on after the error and commits.
    fault: "zonecfg:verify",
    command: "zonecfg -z r1 -f -",
    stderr: "Miscellaneous file system error",
    rolledBack: ["zonecfg -z r1 delete -F", "dladm delete-vnic r10"],
  },
  {
    fault: "zoneadm:install",
    command: "zoneadm -z r1 install",
    stderr: "failed to verify",
    rolledBack: ["zonecfg -z r1 delete -F", "dladm delete-vnic r10"],
    notRolledBack: ["zoneadm -z r1 uninstall -F"],
  },
  {
    fault: "zoneadm:install-brand",
    command: "zoneadm -z r1 install",
    stderr: "",
    rolledBack: ["zoneadm -z r1 uninstall -F", "zonecfg -z r1 delete -F", "dladm delete-vnic r10"],
  },
  {
    fault: "zoneadm:boot",
    command: "zoneadm -z r1 boot",
    stderr: "call to zoneadmd failed",
    rolledBack: ["zoneadm -z r1 uninstall -F", "zonecfg -z r1 delete -F", "dladm delete-vnic r10"],
  },
];

for (const c of CASES) {
  Deno.test(`a failing ${c.fault} rolls the create back completely`, async () => {
    const t = await zoneTestEnv();
    try {
      const before = await hostContents(t);
      const r = await t.zone(["create", "r1"], { FAKE_ILLUMOS_FAIL: c.fault });
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, "creating zone r1 failed");
      assertStringIncludes(r.stderr, c.command);
      if (c.stderr) assertStringIncludes(r.stderr, c.stderr);
      for (const u of c.rolledBack) {
        assertStringIncludes(r.stderr, `rolled back: ${u.replace("ROOT", t.root)}`);
      }
      for (const u of c.notRolledBack ?? []) {
        assert(!r.stderr.includes(`rolled back: ${u}`), `${u} never ran:\n${r.stderr}`);
      }
      assert(!r.stderr.includes("ROLLBACK FAILED"), r.stderr);
      assertEquals(await hostContents(t), before, "the fake host is unchanged");
      assertEquals(await registeredZones(t.root), [], "the reservation is gone");
      // The address is free again: the next create gets it.
      assertStringIncludes(await t.ok(["create", "r2", "--no-boot"]), "10.0.0.2/24");
    } finally {
      await t.cleanup();
    }
  });
}

Deno.test("a create failing at its last step undoes the completed steps in reverse order", async () => {
  const t = await zoneTestEnv();
  try {
    const before = (await t.fake.calls()).length;
    const r = await t.zone(["create", "r1"], { FAKE_ILLUMOS_FAIL: "zoneadm:boot" });
    assertEquals(r.code, 1, r.stderr);
    assertEquals(r.stderr.split("\n").filter((l) => l.includes("rolled back:")), [
      "  rolled back: zoneadm -z r1 uninstall -F",
      "  rolled back: zonecfg -z r1 delete -F",
      "  rolled back: dladm delete-vnic r10",
      `  rolled back: ${t.root}/zones/r1.kdl: remove the registry reservation`,
    ]);
    const mutating = (await t.fake.calls()).slice(before)
      .filter((c) => !c.argv.includes("list") && !c.argv.includes("info"))
      .map((c) => [c.tool, ...c.argv].join(" "));
    assertEquals(mutating, [
      "dladm create-vnic -l igb0 r10",
      "zonecfg -z r1 -f -",
      "zoneadm -z r1 install",
      "zoneadm -z r1 boot",
      "zoneadm -z r1 uninstall -F",
      "zonecfg -z r1 delete -F",
      "dladm delete-vnic r10",
    ]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a failing rollback step is reported, not hidden", async () => {
  const t = await zoneTestEnv();
  try {
    const r = await t.zone(["create", "r1"], {
      FAKE_ILLUMOS_FAIL: "zoneadm:boot,dladm:delete-vnic",
    });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "ROLLBACK FAILED: dladm delete-vnic r10");
    assertStringIncludes(r.stderr, "rolled back: zonecfg -z r1 delete -F");
  } finally {
    await t.cleanup();
  }
});

Deno.test("destroy stops at a failing step, keeps the entry, and a retry finishes", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "d1"]);
    const r = await t.zone(["destroy", "d1"], { FAKE_ILLUMOS_FAIL: "zoneadm:uninstall" });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "zoneadm -z d1 uninstall -F");
    assertStringIncludes(r.stderr, "another zoneadm may have an operation in progress");
    assertEquals(await registeredZones(t.root), ["d1"]);
    await t.ok(["destroy", "d1"]);
    assertEquals(await registeredZones(t.root), []);
    assertEquals((await t.fake.state()).zones.filter((z) => z.name === "d1").length, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("destroy --keep-registry keeps the entry and so the address", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "k1", "--no-boot"]);
    await t.ok(["destroy", "k1", "--keep-registry"]);
    assertEquals(await registeredZones(t.root), ["k1"]);
    assertStringIncludes(await t.ok(["create", "k2", "--no-boot"]), "10.0.0.3/24");
  } finally {
    await t.cleanup();
  }
});

Deno.test("failing to write the first-boot configuration rolls the create back", async () => {
  const t = await zoneTestEnv();
  const notADir = await Deno.makeTempFile({ prefix: "zmgr-altroot-" });
  try {
    const before = await hostContents(t);
    const r = await t.zone(["create", "s1"], { ZMGR_ALTROOT: notADir });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "could not write the first-boot configuration");
    assertStringIncludes(r.stderr, "rolled back: zoneadm -z s1 uninstall -F");
    assertEquals(await hostContents(t), before);
    assertEquals(await registeredZones(t.root), []);
  } finally {
    await Deno.remove(notADir);
    await t.cleanup();
  }
});

Deno.test("destroy cleans up the reservation a crashed create left behind", async () => {
  const t = await zoneTestEnv();
  try {
    await Deno.writeTextFile(
      `${t.root}/zones/crashed.kdl`,
      'brand "ipkg"\naddress "10.0.0.2/24"\nvnic "crashed0"\nzonepath "/zones/crashed"\nstatus "creating"\n',
    );
    const list = JSON.parse(await t.ok(["list", "--json"]));
    assertEquals([list[0].state, list[0].status], ["absent", "creating"]);
    assertStringIncludes(await t.ok(["create", "next", "--no-boot"]), "10.0.0.3/24");
    assertStringIncludes(
      await t.ok(["destroy", "crashed"]),
      "removed the registry entry (freed 10.0.0.2/24)",
    );
    assertEquals(await registeredZones(t.root), ["next"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("SIGINT during the install rolls the create back and exits 130", async () => {
  const t = await zoneTestEnv();
  try {
    const before = await hostContents(t);
    const child = vmctlCommand(["zone", "create", "int1", "--root", t.root], {
      env: {
        ...t.fake.env,
        ZMGR_ALTROOT: `${t.fake.stateDir}/fs`,
        FAKE_ILLUMOS_DELAY_MS: "5000",
        NO_COLOR: "1",
      },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Wait until the install is running (the zone is incomplete), then interrupt.
    const deadline = Date.now() + 60_000;
    while ((await t.fake.state()).zones.find((x) => x.name === "int1")?.state !== "incomplete") {
      assert(Date.now() < deadline, "the install never started");
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGINT");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 130, stderr);
    assertStringIncludes(
      stderr,
      "creating zone int1 was interrupted by SIGINT (after: install the zone)",
    );
    assertEquals(stderr.split("\n").filter((l) => l.includes("rolled back:")), [
      "  rolled back: zoneadm -z int1 uninstall -F",
      "  rolled back: zonecfg -z int1 delete -F",
      "  rolled back: dladm delete-vnic int10",
      `  rolled back: ${t.root}/zones/int1.kdl: remove the registry reservation`,
    ]);
    assertEquals(await hostContents(t), before);
    assertEquals(await registeredZones(t.root), []);
  } finally {
    await t.cleanup();
  }
});
