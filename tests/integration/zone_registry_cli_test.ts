import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { join } from "node:path";
import { buildProgram } from "../../main.ts";
import { createPool, DEFAULT_POOL_ARGS, MAIN, zoneTestEnv } from "./zone_harness.ts";
import { vmctlCommand } from "../helpers/runtime.ts";

Deno.test("init writes config, both default templates and the first pool; a rerun keeps them", async () => {
  const t = await zoneTestEnv({ init: false });
  try {
    const out = await t.ok(["init", "--zonepath-root", "/export/zones"]);
    for (
      const f of [
        "config.kdl",
        "templates/ipkg.kdl",
        "templates/nlipkg.kdl",
      ]
    ) {
      assertStringIncludes(out, `wrote ${join(t.root, f)}`);
    }
    assertStringIncludes(
      await Deno.readTextFile(join(t.root, "config.kdl")),
      'zonepath-root "/export/zones"',
    );
    const again = await t.ok([
      "init",
      "--pool",
      "lan",
      "--network",
      "192.168.1.0/24",
      "--gateway",
      "192.168.1.1",
    ]);
    assertStringIncludes(again, `kept ${join(t.root, "config.kdl")}`);
    assertStringIncludes(again, `wrote ${join(t.root, "pools/lan.kdl")}`);
    const tpls = JSON.parse(await t.ok(["template", "list", "--json"]));
    assertEquals(tpls.map((x: { name: string; brand: string }) => [x.name, x.brand]), [[
      "ipkg",
      "ipkg",
    ], ["nlipkg", "nlipkg"]]);
  } finally {
    await t.cleanup();
  }
});

/** The registry's .kdl files, relative to its root. */
function kdlFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(root)) {
    if (e.isDirectory) out.push(...kdlFiles(join(root, e.name)).map((f) => `${e.name}/${f}`));
    else if (e.name.endsWith(".kdl")) out.push(e.name);
  }
  return out.sort();
}

Deno.test("init --dry-run prints its plan, the dataset's creation included, and changes nothing", async () => {
  const t = await zoneTestEnv({ init: false });
  try {
    const host = await t.fake.snapshot();
    const args = ["init", "--zonepath-root", "/zones2", "--create-dataset", "rpool/zones2"];
    const out = await t.ok([...args, "--dry-run"]);
    assertStringIncludes(out, `write ${join(t.root, "config.kdl")} (mode 0644)\n`);
    assertStringIncludes(out, `write ${join(t.root, "templates/nlipkg.kdl")} (mode 0644)\n`);
    assertStringIncludes(
      out,
      "create ZFS dataset rpool/zones2\n       $ zfs create -o mountpoint=/zones2 rpool/zones2",
    );
    assertEquals(kdlFiles(t.root), []);
    assertEquals(await t.fake.snapshot(), host);
  } finally {
    await t.cleanup();
  }
});

Deno.test("init whose dataset cannot be created removes the files it wrote", async () => {
  const t = await zoneTestEnv({ init: false });
  try {
    const r = await t.zone(
      ["init", "--zonepath-root", "/zones2", "--create-dataset", "rpool/zones2"],
      { FAKE_ILLUMOS_FAIL: "zfs:create" },
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "`zfs create -o mountpoint=/zones2 rpool/zones2` failed");
    assertStringIncludes(r.stderr, `rolled back: ${join(t.root, "config.kdl")}: remove it`);
    assertEquals(kdlFiles(t.root), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("pool edit keeps the user's comments and layout and refuses an invalid result", async () => {
  const t = await zoneTestEnv();
  try {
    const path = join(t.root, "pools", "default.kdl");
    const handWritten = `// LAN pool — ask ops before changing
network "10.0.0.0/24"   // from the ISP
gateway "10.0.0.1" // router

/* the stub */
stub "igb0"
`;
    await Deno.writeTextFile(path, handWritten);
    await t.ok([
      "pool",
      "edit",
      "default",
      "--gateway",
      "10.0.0.254",
      "--reserve",
      "10.0.0.2",
      "--dns",
      "1.1.1.1",
    ]);
    const edited = await Deno.readTextFile(path);
    assertStringIncludes(edited, "// LAN pool — ask ops before changing\n");
    assertStringIncludes(edited, 'network "10.0.0.0/24"   // from the ISP\n');
    assertStringIncludes(edited, 'gateway "10.0.0.254" // router\n');
    assertStringIncludes(edited, "/* the stub */\n");
    assertStringIncludes(edited, 'reserve "10.0.0.2"');
    // The old gateway address is free now; the reservation of .2 is honoured.
    assertStringIncludes(await t.ok(["create", "e1", "--no-boot"]), "10.0.0.1/24");
    assertStringIncludes(await t.ok(["create", "e2", "--no-boot"]), "10.0.0.3/24");

    const bad = await t.zone(["pool", "edit", "default", "--gateway", "10.9.9.9"]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "zmgr::pool::outside_network");
    assertEquals(await Deno.readTextFile(path), edited, "an invalid edit writes nothing");
  } finally {
    await t.cleanup();
  }
});

Deno.test("template create/edit/rm and publisher add/list/rm manage the registry from the CLI", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["publisher", "add", "ofl", "https://pkg.example.org/ofl"]);
    await t.ok(["publisher", "add", "openindiana.org", "https://pkg.openindiana.org/hipster"]);
    await t.ok([
      "template",
      "create",
      "ofl",
      "--brand",
      "nlipkg",
      "--pool",
      "default",
      "--publisher",
      "ofl",
      "--no-autoboot",
    ]);
    const tpl = JSON.parse(await t.ok(["template", "show", "ofl", "--json"]));
    assertEquals([tpl.brand, tpl.autoboot, tpl.publishers], ["nlipkg", false, ["ofl"]]);
    await t.ok([
      "template",
      "edit",
      "ofl",
      "--autoboot",
      "true",
      "--publisher",
      "ofl",
      "--publisher",
      "openindiana.org",
    ]);
    assertEquals(JSON.parse(await t.ok(["template", "show", "ofl", "--json"])).publishers, [
      "ofl",
      "openindiana.org",
    ]);

    await t.ok(["create", "o1", "--template", "ofl"]);
    const install = (await t.fake.calls()).find((c) => c.argv.includes("install"))!;
    // The installer keeps only the last -P: the preferred publisher goes there,
    // the others are added to the installed image.
    assertEquals(install.argv.slice(3), ["-P", "ofl=https://pkg.example.org/ofl"]);
    const image = (await t.fake.state()).zonePublishers["o1"];
    assertEquals(image.map((p) => [p.name, p.origins]), [
      ["ofl", ["https://pkg.example.org/ofl"]],
      ["openindiana.org", ["https://pkg.openindiana.org/hipster"]],
    ]);

    const inUse = await t.zone(["publisher", "rm", "ofl"]);
    assertEquals(inUse.code, 1);
    assertStringIncludes(inUse.stderr, "zmgr::publisher::in_use");
    const tplInUse = await t.zone(["template", "rm", "ipkg"]);
    assertStringIncludes(tplInUse.stderr, "config.kdl (default-template)");
    await t.ok(["template", "rm", "nlipkg"]);
    assertEquals(
      JSON.parse(await t.ok(["template", "list", "--json"])).map((x: { name: string }) => x.name),
      ["ipkg", "ofl"],
    );
    const pubs = JSON.parse(await t.ok(["publisher", "list", "--json"]));
    assertEquals(pubs.map((p: { name: string }) => p.name), ["ofl", "openindiana.org"]);
    const dup = await t.zone(["publisher", "add", "ofl", "https://x.example/"]);
    assertStringIncludes(dup.stderr, "zmgr::publisher::exists");
    const poolRm = await t.zone(["pool", "rm", "default"]);
    assertStringIncludes(poolRm.stderr, "zone o1");
  } finally {
    await t.cleanup();
  }
});

Deno.test("an IPv6 pool allocates IPv6 addresses and writes them to zonecfg", async () => {
  const t = await zoneTestEnv();
  try {
    await createPool(t, "v6", "2001:db8:5::/64", "2001:db8:5::1", "--stub", "net0");
    assertStringIncludes(await t.ok(["create", "six", "--pool", "v6"]), "2001:db8:5::2/64");
    const net = (await t.fake.state()).zones.find((z) => z.name === "six")!.resources.find((r) =>
      r.type === "net"
    )!;
    assertEquals(net.props["allowed-address"], "2001:db8:5::2/64");
    assertEquals(net.props.defrouter, "2001:db8:5::1");
  } finally {
    await t.cleanup();
  }
});

Deno.test("invoked as zmgr, the zone commands are the top level", async () => {
  const zmgr = await buildProgram("zmgr");
  const names = zmgr.commands.map((c) => c.name());
  for (
    const n of [
      "init",
      "create",
      "destroy",
      "boot",
      "halt",
      "reboot",
      "list",
      "show",
      "import",
      "pool",
      "template",
      "publisher",
    ]
  ) {
    assert(names.includes(n), n);
  }
  const vmctl = await buildProgram("vmctl");
  assert(vmctl.commands.some((c) => c.name() === "zone"));
});

Deno.test("a bundle symlinked as zmgr runs the zone commands at the top level", async () => {
  const dir = await Deno.makeTempDir({ prefix: "zmgr-link-" });
  try {
    const bundle = join(dir, "vmctl.js");
    const b = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "-o", bundle, MAIN],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(b.code, 0, new TextDecoder().decode(b.stderr));
    await Deno.symlink(bundle, join(dir, "zmgr"));
    const root = join(dir, "reg");
    const run = async (args: string[]) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(dir, "zmgr"), ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: r.code, stdout: new TextDecoder().decode(r.stdout) };
    };
    const help = await run(["--help"]);
    assertMatch(help.stdout, /^Usage: zmgr /);
    assertEquals((await run(["init", "--root", root])).code, 0);
    assertStringIncludes(
      (await run(["template", "list", "--root", root])).stdout,
      "ipkg (default)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a zmgr launcher passing `zone` first routes `zmgr list` to the zones", async () => {
  // `deno install -g -n zmgr ... main.ts -- zone`: the documented launcher (docs/zones.md).
  const t = await zoneTestEnv();
  const dir = await Deno.makeTempDir({ prefix: "zmgr-install-" });
  try {
    const install = await new Deno.Command(Deno.execPath(), {
      args: [
        "install",
        "-g",
        "-f",
        "-q",
        "--root",
        dir,
        "-n",
        "zmgr",
        "--config",
        join(MAIN, "..", "deno.json"),
        "-A",
        MAIN,
        "--",
        "zone",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(install.code, 0, new TextDecoder().decode(install.stderr));
    await t.ok(["create", "web01", "--no-boot"]);
    const r = await new Deno.Command(join(dir, "bin", "zmgr"), {
      args: ["list"],
      // The launcher execs `deno` from PATH; the registry comes from ZMGR_ROOT.
      env: { ...t.env, ZMGR_ROOT: t.root, PATH: `${join(Deno.execPath(), "..")}:${t.env.PATH}` },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    assertMatch(
      new TextDecoder().decode(r.stdout),
      /^web01\s+ipkg\s+installed\s+10\.0\.0\.\d+\/24/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    await t.cleanup();
  }
});

Deno.test("init --ssh-key authorises the key for root in new zones via sysding", async () => {
  const t = await zoneTestEnv({ init: false });
  const keyFile = await Deno.makeTempFile({ suffix: ".pub" });
  try {
    const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDwfH2bTqX0P5m0 ops@example";
    await Deno.writeTextFile(keyFile, `${key}\n`);
    await t.ok(["init", "--ssh-key", keyFile, ...DEFAULT_POOL_ARGS]);
    await t.ok(["create", "k1", "--no-boot"]);
    const conf = (await t.fake.zoneFile("k1", "/etc/sysding.conf"))!;
    assertStringIncludes(conf, `printf '%s\\n' '${key}' >> /root/.ssh/authorized_keys`);
    const bad = await t.zone(["init", "--ssh-key", "/nonexistent.pub"]);
    assertStringIncludes(bad.stderr, "zmgr::init::ssh_key_unreadable");
  } finally {
    await Deno.remove(keyFile);
    await t.cleanup();
  }
});

Deno.test("ZMGR_ROOT chooses the registry when --root is not given", async () => {
  const root = await Deno.makeTempDir({ prefix: "zmgr-env-" });
  try {
    const run = (args: string[]) =>
      vmctlCommand(["zone", ...args], {
        env: { ZMGR_ROOT: root, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
    assertEquals((await run(["init"])).code, 0);
    const list = await run(["template", "list", "--json"]);
    assertEquals(list.code, 0);
    assertEquals(JSON.parse(new TextDecoder().decode(list.stdout))[0].name, "ipkg");
    await Deno.stat(join(root, "config.kdl"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
