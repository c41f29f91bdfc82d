import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { registeredZones, zoneTestEnv } from "./zone_harness.ts";

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

Deno.test("create --dry-run prints the commands and zonecfg script and changes nothing", async () => {
  const t = await zoneTestEnv();
  try {
    const host = await t.fake.snapshot();
    const reg = await registrySnapshot(t.root);
    const out = await t.ok(["create", "dry1", "--dry-run"]);
    assertStringIncludes(out, "dry run: nothing was changed");
    assertStringIncludes(out, "would reserve 10.0.0.2/24 from pool default");
    assertStringIncludes(out, "  dladm create-vnic -l igb0 dry10\n");
    assertStringIncludes(out, "  zonecfg -z dry1 -f -");
    assertStringIncludes(out, "      set allowed-address=10.0.0.2/24\n");
    assertStringIncludes(out, "  zoneadm -z dry1 install\n");
    assertStringIncludes(out, "would write /zones/dry1/root/etc/sysding.conf:");
    assertStringIncludes(out, "then run:\n  zoneadm -z dry1 boot");
    assertEquals(await t.fake.snapshot(), host, "fake state untouched");
    assertEquals(await registrySnapshot(t.root), reg, "registry untouched");
    // Only read-only queries reached the system.
    for (const c of await t.fake.calls()) {
      assert(c.argv.includes("list") || c.argv[0] === "show-vnic", JSON.stringify(c));
    }
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
      "  zoneadm -z dd1 halt\n  zoneadm -z dd1 uninstall -F\n  zonecfg -z dd1 delete -F\n  dladm delete-vnic dd10\n",
    );
    assertStringIncludes(d, "would remove");
    assertStringIncludes(await t.ok(["halt", "dd1", "--dry-run"]), "zoneadm -z dd1 halt");
    assertStringIncludes(
      await t.ok(["pool", "edit", "default", "--gateway", "10.0.0.254", "--dry-run"]),
      'gateway "10.0.0.254"',
    );
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
      "would write",
    );
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
