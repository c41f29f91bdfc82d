import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { registeredZones, zoneTestEnv } from "./zone_harness.ts";

Deno.test("hostile zone, VNIC, pool and template names never reach a command or a path", async () => {
  const t = await zoneTestEnv();
  try {
    const cases: [string[], string][] = [
      [["create", "../../etc/passwd"], "zmgr::name::invalid"],
      [["create", "a;zoneadm"], "zmgr::name::invalid"],
      [["create", "a\nadd fs"], "zmgr::name::invalid"],
      [["create", "global"], "zmgr::name::invalid"],
      [["create", "SUNWdefault"], "zmgr::name::invalid"],
      [["create", "ok1", "--vnic", "x; rm -rf /"], "zmgr::name::invalid_link"],
      [["create", "ok1", "--vnic", "web-0"], "zmgr::name::invalid_link"],
      [["create", "ok1", "--pool", "../pools/default"], "zmgr::name::invalid"],
      [["create", "ok1", "--template", "/etc/passwd"], "zmgr::name::invalid"],
      [["create", "ok1", "--address", "10.0.0.9\nadd fs"], "zmgr::address::invalid"],
      [["create", "ok1", "--address", "10.1.0.9"], "zmgr::address::outside_pool"],
      [
        ["pool", "create", "x/y", "--network", "10.9.0.0/24", "--gateway", "10.9.0.1"],
        "zmgr::name::invalid",
      ],
      [[
        "pool",
        "create",
        "p9",
        "--network",
        "10.9.0.0/24",
        "--gateway",
        "10.9.0.1",
        "--stub",
        "igb0;x",
      ], "zmgr::name::invalid_link"],
      [["publisher", "add", "evil", 'https://x/"; rm -rf /'], "zmgr::publisher::bad_origin"],
      [["template", "create", "t1", "--brand", "ipkg;reboot"], "zmgr::kdl::bad_value"],
    ];
    for (const [args, code] of cases) {
      const r = await t.zone(args);
      assertEquals(r.code, 1, `${JSON.stringify(args)}: ${r.stderr}`);
      assertStringIncludes(r.stderr, code, JSON.stringify(args));
      assertMatch(r.stderr, /hint: /);
    }
    // Nothing ran on the system except read-only queries, and nothing was registered.
    const calls = await t.fake.calls();
    for (const c of calls) assert(c.argv.includes("list"), JSON.stringify(c));
    assertEquals(await registeredZones(t.root), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a hand-edited registry file with an unknown node is reported at file:line:col", async () => {
  const t = await zoneTestEnv();
  try {
    const path = `${t.root}/pools/default.kdl`;
    await Deno.writeTextFile(path, (await Deno.readTextFile(path)) + 'gatway "10.0.0.1"\n');
    const r = await t.zone(["create", "x1"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "zmgr::kdl::unknown_node");
    assertMatch(r.stderr, new RegExp(`--> ${path}:\\d+:1`));
    assertStringIncludes(r.stderr, "did you mean `gateway`?");
  } finally {
    await t.cleanup();
  }
});

Deno.test("hand-edited duplicate and out-of-pool addresses are reported and not reused", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "h1", "--no-boot"]);
    const entry = await Deno.readTextFile(`${t.root}/zones/h1.kdl`);
    await Deno.writeTextFile(`${t.root}/zones/h2.kdl`, entry);
    await Deno.writeTextFile(
      `${t.root}/zones/h3.kdl`,
      entry.replace("10.0.0.2/24", "10.7.0.9/24"),
    );
    const show = await t.ok(["pool", "show", "default"]);
    assertStringIncludes(show, "problem: zones h1 and h2 both hold address 10.0.0.2");
    assertStringIncludes(
      show,
      "problem: zone h3 holds 10.7.0.9, which is outside its pool default",
    );
    const r = await t.zone(["create", "h4", "--no-boot"]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "10.0.0.3/24");
    assertStringIncludes(r.stderr, "both hold address 10.0.0.2");
  } finally {
    await t.cleanup();
  }
});

Deno.test("an exhausted pool is a diagnostic with its size and a hint", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok([
      "pool",
      "create",
      "tiny",
      "--network",
      "10.5.0.0/30",
      "--gateway",
      "10.5.0.1",
      "--stub",
      "igb0",
    ]);
    await t.ok(["create", "e1", "--pool", "tiny", "--no-boot"]);
    const r = await t.zone(["create", "e2", "--pool", "tiny", "--no-boot"]);
    assertEquals(r.code, 1);
    assertStringIncludes(
      r.stderr,
      "error[zmgr::pool::exhausted]: pool tiny (10.5.0.0/30) is exhausted: all 1 addresses",
    );
    assertStringIncludes(r.stderr, "hint:");
  } finally {
    await t.cleanup();
  }
});

Deno.test("a missing illumos tool is one diagnostic naming it", async () => {
  const t = await zoneTestEnv();
  try {
    const r = await t.zone(["list"], { PATH: "/nonexistent" });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "required program `zoneadm` was not found on PATH");
    assert(!r.stderr.includes("    at "), "no stack trace");
  } finally {
    await t.cleanup();
  }
});

Deno.test("commands on an uninitialised registry say how to initialise it", async () => {
  const t = await zoneTestEnv({ init: false });
  try {
    const r = await t.zone(["create", "u1"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "zmgr::registry::not_initialized");
    assertStringIncludes(r.stderr, "zmgr init");
  } finally {
    await t.cleanup();
  }
});

Deno.test("creating a zone that already exists on the system is refused", async () => {
  const t = await zoneTestEnv();
  try {
    await t.fake.addZone({ name: "taken", brand: "ipkg", state: "installed" });
    const r = await t.zone(["create", "taken"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "zmgr::zone::exists");
    assertStringIncludes(r.stderr, "zmgr import");
  } finally {
    await t.cleanup();
  }
});
