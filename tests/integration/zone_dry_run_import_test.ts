import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { registeredZones, zoneTestEnv } from "./zone_harness.ts";
import type { CallRecord } from "../../fixtures/illumos/mod.ts";

async function registrySnapshot(root: string): Promise<string> {
  const out: string[] = [];
  for (const dir of ["", "zones", "pools", "templates", "publishers"]) {
    for await (const e of Deno.readDir(`${root}/${dir}`)) {
      if (e.isFile && e.name !== ".lock") {
        out.push(`${dir}/${e.name}:${await Deno.readTextFile(`${root}/${dir}/${e.name}`)}`);
      }
    }
  }
  return out.sort().join("\n");
}

/** A call that only reads the system (what a dry run may run). */
function isQuery(c: CallRecord): boolean {
  return c.argv.includes("list") || c.argv.includes("info") || c.argv[0] === "show-vnic";
}

Deno.test("create --dry-run prints the plan: commands, zonecfg script, files, registry changes, undos", async () => {
  const t = await zoneTestEnv();
  try {
    const host = await t.fake.snapshot();
    const reg = await registrySnapshot(t.root);
    const out = await t.ok(["create", "dry1", "--dry-run"]);
    const entry = `${t.root}/zones/dry1.kdl`;
    const sysding = `${t.fake.stateDir}/fs/zones/dry1/root/etc/sysding.conf`;
    assertStringIncludes(out, "dry run: nothing was changed\nplan: create zone dry1\n");
    assertStringIncludes(
      out,
      `  1. reserve the address\n       ${entry}: reserve 10.0.0.2/24 from pool default (template ipkg, VNIC dry10, zonepath /zones/dry1), status creating\n       undo: ${entry}: remove the registry reservation\n`,
    );
    assertStringIncludes(
      out,
      "  2. create the VNIC\n       $ dladm create-vnic -l igb0 dry10\n       undo: $ dladm delete-vnic dry10\n",
    );
    assertStringIncludes(out, "  3. configure the zone\n       $ zonecfg -z dry1 -f - <<'EOF'\n");
    assertStringIncludes(out, "       set allowed-address=10.0.0.2/24\n");
    assertStringIncludes(out, "       undo: $ zonecfg -z dry1 delete -F\n");
    assertStringIncludes(
      out,
      "  4. install the zone\n       $ zoneadm -z dry1 install\n       undo: $ zoneadm -z dry1 uninstall -F\n",
    );
    assertStringIncludes(
      out,
      `  5. write the first-boot configuration\n       write ${sysding} (mode 0600)\n`,
    );
    assertStringIncludes(out, `  6. finalise the registry entry\n       ${entry}: status active\n`);
    assertStringIncludes(
      out,
      "  7. boot the zone\n       $ zoneadm -z dry1 boot\n       undo: $ zoneadm -z dry1 halt\n",
    );
    assertEquals(await t.fake.snapshot(), host, "fake state untouched");
    assertEquals(await registrySnapshot(t.root), reg, "registry untouched");
    // Only read-only queries reached the system.
    for (const c of await t.fake.calls()) assert(isQuery(c), JSON.stringify(c));
  } finally {
    await t.cleanup();
  }
});

Deno.test("create runs exactly the commands, files and registry changes its dry-run plan shows", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["publisher", "add", "extra.org", "https://pkg.example.org/extra"]);
    await t.ok(["publisher", "add", "first.org", "https://pkg.example.org/first"]);
    await t.ok([
      "template",
      "edit",
      "ipkg",
      "--publisher",
      "first.org",
      "--publisher",
      "extra.org",
    ]);
    const plan = JSON.parse(await t.ok(["create", "same1", "--dry-run", "--json"]));
    const before = (await t.fake.calls()).length;
    await t.ok(["create", "same1"]);
    const ran = (await t.fake.calls()).slice(before).filter((c) => !isQuery(c));
    type Action = { kind: string; argv?: string[]; stdin?: string; path?: string; text?: string };
    const actions: Action[] = plan.steps.map((s: { action: Action }) => s.action);
    assertEquals(
      ran.map((c) => ({ argv: [c.tool, ...c.argv], stdin: c.stdin ?? null })),
      actions.filter((a) => a.kind === "run").map((a) => ({
        argv: a.argv,
        stdin: a.stdin ?? null,
      })),
    );
    assertEquals(
      ran.map((c) => c.tool),
      ["dladm", "zonecfg", "zoneadm", "pkg", "zoneadm"],
      "VNIC, configuration, install, the second publisher, boot",
    );
    const write = actions.find((a) => a.kind === "write")!;
    assertEquals(await Deno.readTextFile(write.path!), write.text);
    assertEquals(
      actions.filter((a) => a.kind === "store").map((a) => (a as { file?: string }).file),
      [`${t.root}/zones/same1.kdl`, `${t.root}/zones/same1.kdl`],
    );
    assertStringIncludes(await Deno.readTextFile(`${t.root}/zones/same1.kdl`), 'status "active"');
    assertEquals(plan.zone.address, "10.0.0.2/24");
  } finally {
    await t.cleanup();
  }
});

Deno.test("destroy, boot and pool edit honour --dry-run", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "dd1"]);
    const host = await t.fake.snapshot();
    const reg = await registrySnapshot(t.root);
    const d = await t.ok(["destroy", "dd1", "--dry-run"]);
    assertStringIncludes(
      d,
      [
        "plan: destroy zone dd1",
        "  1. halt the zone",
        "       $ zoneadm -z dd1 halt",
        "  2. uninstall the zone",
        "       $ zoneadm -z dd1 uninstall -F",
        "  3. delete the configuration",
        "       $ zonecfg -z dd1 delete -F",
        "  4. destroy dataset rpool/zones/dd1 if the uninstall left it",
        "       $ zfs destroy -r rpool/zones/dd1",
        "  5. delete the VNIC",
        "       $ dladm delete-vnic dd10",
        "  6. remove the registry entry",
        `       ${t.root}/zones/dd1.kdl: remove (freed 10.0.0.2/24)`,
      ].join("\n"),
    );
    assertStringIncludes(
      await t.ok(["halt", "dd1", "--dry-run"]),
      "plan: halt zone dd1\n  1. halt the zone\n       $ zoneadm -z dd1 halt",
    );
    const edit = await t.ok(["pool", "edit", "default", "--gateway", "10.0.0.254", "--dry-run"]);
    assertStringIncludes(edit, `write ${t.root}/pools/default.kdl (mode 0644)\n`);
    assertStringIncludes(edit, '| gateway "10.0.0.254"');
    assertStringIncludes(
      await t.ok([
        "pool",
        "create",
        "p2",
        "--network",
        "10.1.0.0/24",
        "--gateway",
        "10.1.0.1",
        "--dry-run",
      ]),
      `  1. create pool p2\n       write ${t.root}/pools/p2.kdl (mode 0644)\n`,
    );
    assertStringIncludes(
      await t.ok(["template", "rm", "nlipkg", "--dry-run"]),
      `  1. remove template nlipkg\n       remove ${t.root}/templates/nlipkg.kdl`,
    );
    const json = JSON.parse(await t.ok(["destroy", "dd1", "--dry-run", "--json"]));
    assertEquals(json.steps[0], {
      title: "halt the zone",
      action: { kind: "run", argv: ["zoneadm", "-z", "dd1", "halt"] },
      undo: null,
    });
    assertEquals(await t.fake.snapshot(), host);
    assertEquals(await registrySnapshot(t.root), reg);
  } finally {
    await t.cleanup();
  }
});

Deno.test("import registers ipkg and lipkg zones, skips bhyve, reports the unmatched, and is idempotent", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["template", "create", "lipkg", "--brand", "lipkg", "--pool", "default"]);
    await t.fake.addVnic("old10", "igb0");
    await t.fake.addZone({
      name: "old1",
      brand: "ipkg",
      state: "running",
      net: [{ physical: "old10", allowedAddress: "10.0.0.7/24", defrouter: "10.0.0.1" }],
    });
    await t.fake.addZone({
      name: "web2",
      brand: "lipkg",
      state: "installed",
      net: [{ physical: "web2net0", allowedAddress: "192.168.9.9/24" }],
    });
    await t.fake.addZone({ name: "vm1", brand: "bhyve", state: "installed" });
    await t.fake.addZone({ name: "vm2", brand: "kvm", state: "installed" });
    await t.fake.addZone({ name: "linux1", brand: "lx", state: "installed" });

    const dry = await t.ok(["import", "--dry-run"]);
    assertStringIncludes(dry, "would import old1");
    assertEquals(await registeredZones(t.root), [], "dry run writes nothing");

    const res = JSON.parse(await t.ok(["import", "--json"]));
    const by = Object.fromEntries(res.map((o: { name: string }) => [o.name, o]));
    assertEquals([by.old1.action, by.old1.template, by.old1.pool, by.old1.addresses], [
      "imported",
      "ipkg",
      "default",
      ["10.0.0.7/24"],
    ]);
    assertEquals([by.web2.action, by.web2.template, by.web2.pool], [
      "imported",
      "lipkg",
      undefined,
    ]);
    assertStringIncludes(by.web2.reason, "no pool contains 192.168.9.9/24");
    assertEquals(by.vm1.action, "skipped");
    assertEquals([by.vm2.action, by.vm2.reason], [
      "skipped",
      "kvm zones are virtual machines, managed by vmctl/vm-manager",
    ]);
    assertEquals(by.linux1.action, "unmatched");
    assertStringIncludes(by.linux1.reason, "needs a Linux image");
    assertEquals(await registeredZones(t.root), ["old1", "web2"]);

    // The imported address is now in use: the next create skips 10.0.0.7.
    await t.ok(["create", "n1", "--address", "10.0.0.6", "--no-boot"]);
    const clash = await t.zone(["create", "n2", "--address", "10.0.0.7", "--no-boot"]);
    assertStringIncludes(clash.stderr, "zmgr::address::in_use");

    const again = JSON.parse(await t.ok(["import", "--json"]));
    assertEquals(again.filter((o: { action: string }) => o.action === "imported"), []);
    const list = JSON.parse(await t.ok(["list", "--json"]));
    assertEquals(list.find((z: { name: string }) => z.name === "old1").state, "running");
  } finally {
    await t.cleanup();
  }
});

Deno.test("import reads OmniOS zonecfg info (different net property order)", async () => {
  const t = await zoneTestEnv({ flavor: "omnios" });
  try {
    await t.ok(["template", "create", "sparse", "--brand", "sparse"]);
    await t.fake.addZone({
      name: "om1",
      brand: "sparse",
      state: "installed",
      net: [{ physical: "om1net0", allowedAddress: "10.0.0.40/24", defrouter: "10.0.0.1" }],
    });
    const res = JSON.parse(await t.ok(["import", "--json"]));
    assertEquals(
      res.map((o: { name: string; action: string; pool?: string }) => [o.name, o.action, o.pool]),
      [
        ["om1", "imported", "default"],
      ],
    );
    const entry = await Deno.readTextFile(`${t.root}/zones/om1.kdl`);
    assertStringIncludes(entry, 'vnic "om1net0"');
    assertStringIncludes(entry, 'gateway "10.0.0.1"');
    assertStringIncludes(entry, "imported #true");
  } finally {
    await t.cleanup();
  }
});

Deno.test("import records a shared-IP zone's address with its pool's prefix", async () => {
  const t = await zoneTestEnv();
  try {
    await t.fake.addZone({
      name: "sh1",
      brand: "ipkg",
      state: "installed",
      ipType: "shared",
      net: [{ physical: "igb0", address: "10.0.0.9" }],
    });
    const res = JSON.parse(await t.ok(["import", "--json"]));
    assertEquals([res[0].action, res[0].pool, res[0].addresses], [
      "imported",
      "default",
      ["10.0.0.9/24"],
    ]);
    const entry = await Deno.readTextFile(`${t.root}/zones/sh1.kdl`);
    assert(!entry.includes("vnic"), `the host's NIC igb0 is not the zone's VNIC:\n${entry}`);
    // The registry stays readable and the address is in use.
    const show = JSON.parse(await t.ok(["pool", "show", "default", "--json"]));
    assertEquals(show.allocations.map((a: { zone: string }) => a.zone), ["sh1"]);
  } finally {
    await t.cleanup();
  }
});
