import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { registeredZones, zoneTestEnv } from "./zone_harness.ts";

Deno.test("create allocates, configures, installs, writes sysding and boots; destroy undoes it all", async () => {
  const t = await zoneTestEnv();
  try {
    const out = await t.ok(["create", "web01"]);
    assertStringIncludes(out, "created zone web01: 10.0.0.2/24 from pool default, VNIC web010");

    const s = await t.fake.state();
    const z = s.zones.find((x) => x.name === "web01")!;
    assertEquals([z.brand, z.state, z.zonepath, z.ipType, z.autoboot], [
      "ipkg",
      "running",
      "/zones/web01",
      "exclusive",
      true,
    ]);
    const net = z.resources.find((r) => r.type === "net")!;
    assertEquals(net.props, {
      physical: "web010",
      "allowed-address": "10.0.0.2/24",
      defrouter: "10.0.0.1",
    });
    assert(s.links.some((l) => l.name === "web010" && l.over === "igb0"));

    const sysding = await t.fake.zoneFile("web01", "/etc/sysding.conf");
    assert(sysding !== null, "sysding.conf written into the zone root");
    // The address and route are configured from the global zone (allowed-address,
    // defrouter); in the zone the interface is from-gz and ipadm create-addr is refused.
    assert(!/setup_interface|setup_route|ipadm/.test(sysding), sysding);
    const inZone = await t.fake.run("zlogin", [
      "web01",
      "ipadm",
      "create-addr",
      "-T",
      "static",
      "-a",
      "10.0.0.2/24",
      "web010/v4",
    ]);
    assertEquals(inZone.code, 1);
    assertStringIncludes(inZone.stderr, "Operation not permitted on from-gz interface");
    assertStringIncludes(sysding, "'web01' > /etc/nodename");

    const install = (await t.fake.calls()).find((c) =>
      c.tool === "zoneadm" && c.argv.includes("install")
    )!;
    // The default template names no publisher: the zone inherits the global zone's.
    assertEquals(install.argv, ["-z", "web01", "install"]);
    const host = await t.fake.state();
    assertEquals(host.zonePublishers["web01"], host.publishers);

    const entry = await Deno.readTextFile(`${t.root}/zones/web01.kdl`);
    assertMatch(entry, /status "active"/);
    assertMatch(entry, /address "10\.0\.0\.2\/24"/);

    const list = JSON.parse(await t.ok(["list", "--json"]));
    assertEquals(list.length, 1);
    const { name, brand, state, address, pool, template, vnic } = list[0];
    assertEquals({ name, brand, state, address, pool, template, vnic }, {
      name: "web01",
      brand: "ipkg",
      state: "running",
      address: "10.0.0.2/24",
      pool: "default",
      template: "ipkg",
      vnic: "web010",
    });

    await t.ok(["destroy", "web01"]);
    const after = await t.fake.state();
    assertEquals(after.zones.filter((x) => x.name !== "global").length, 0);
    assert(!after.links.some((l) => l.name === "web010"), "VNIC deleted");
    assertEquals(await registeredZones(t.root), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a destroyed zone's address is handed out again", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "a1", "--no-boot"]);
    await t.ok(["create", "a2", "--no-boot"]);
    await t.ok(["destroy", "a1"]);
    const out = await t.ok(["create", "a3", "--no-boot"]);
    assertStringIncludes(out, "10.0.0.2/24");
    const show = JSON.parse(await t.ok(["show", "a2", "--json"]));
    assertEquals([show.address, show.state], ["10.0.0.3/24", "installed"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("boot, halt and reboot drive zoneadm on a registered zone", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "b1", "--no-boot"]);
    await t.ok(["boot", "b1"]);
    assertEquals(JSON.parse(await t.ok(["show", "b1", "--json"])).state, "running");
    await t.ok(["reboot", "b1"]);
    await t.ok(["halt", "b1"]);
    assertEquals(JSON.parse(await t.ok(["show", "b1", "--json"])).state, "installed");
    const r = await t.zone(["boot", "nosuch"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "zmgr::zone::not_found");
  } finally {
    await t.cleanup();
  }
});

Deno.test("--address picks a free address; a taken one is refused", async () => {
  const t = await zoneTestEnv();
  try {
    assertStringIncludes(
      await t.ok(["create", "c1", "--address", "10.0.0.50", "--no-boot"]),
      "10.0.0.50/24",
    );
    const r = await t.zone(["create", "c2", "--address", "10.0.0.50", "--no-boot"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "zmgr::address::in_use");
    assertEquals(await registeredZones(t.root), ["c1"]);
    assertEquals((await t.fake.state()).zones.filter((z) => z.name === "c2").length, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("pool show prints used/free counts and the allocations", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "p1", "--no-boot"]);
    await t.ok(["create", "p2", "--no-boot"]);
    const info = JSON.parse(await t.ok(["pool", "show", "default", "--json"]));
    assertEquals([info.size, info.used, info.free], ["253", 2, "251"]);
    assertEquals(
      info.allocations.map((a: { zone: string; address: string }) => [a.zone, a.address]),
      [
        ["p1", "10.0.0.2"],
        ["p2", "10.0.0.3"],
      ],
    );
    const text = await t.ok(["pool", "show", "default"]);
    assertStringIncludes(text, "used 2, free 251 of 253");
  } finally {
    await t.cleanup();
  }
});

Deno.test("destroy removes a dataset left at the zonepath of a zone the system no longer has", async () => {
  const t = await zoneTestEnv();
  try {
    const made = await t.fake.run("zfs", [
      "create",
      "-o",
      "mountpoint=/zones/left1",
      "rpool/zones/left1",
    ]);
    assertEquals(made.code, 0, made.stderr);
    await Deno.writeTextFile(
      `${t.root}/zones/left1.kdl`,
      'brand "ipkg"\naddress "10.0.0.9/24"\nzonepath "/zones/left1"\nstatus "active"\n',
    );
    assertStringIncludes(
      await t.ok(["destroy", "left1", "--dry-run"]),
      "  1. destroy dataset rpool/zones/left1\n       $ zfs destroy -r rpool/zones/left1\n",
    );
    assertEquals(
      await t.ok(["destroy", "left1"]),
      "destroyed zone left1: destroyed dataset rpool/zones/left1, removed the registry entry (freed 10.0.0.9/24)\n",
    );
    assert(!(await t.fake.state()).datasets.some((d) => d.name === "rpool/zones/left1"));
  } finally {
    await t.cleanup();
  }
});

Deno.test("destroy of an installed zone reports no dataset step when the uninstall removed it", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "gone1", "--no-boot"]);
    assertEquals(
      await t.ok(["destroy", "gone1"]),
      "destroyed zone gone1: uninstalled, deleted the configuration, deleted VNIC gone10, removed the registry entry (freed 10.0.0.2/24)\n",
    );
  } finally {
    await t.cleanup();
  }
});
