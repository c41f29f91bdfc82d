/**
 * ZFS around zones (issue #21 item 7): the ipkg-family installers need the
 * zonepath's parent to be a ZFS dataset; create checks it, `init
 * --create-dataset` makes it, destroy removes only the zone dataset zmgr's
 * create made.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import {
  DEFAULT_POOL_ARGS,
  registeredZones,
  type ZoneTestEnv,
  zoneTestEnv,
} from "./zone_harness.ts";

/** A fresh host: the pool `rpool` and no dataset at /zones. */
async function freshHost(): Promise<ZoneTestEnv> {
  const t = await zoneTestEnv({ init: false });
  const r = await t.fake.run("zfs", ["destroy", "rpool/zones"]);
  assertEquals(r.code, 0, r.stderr);
  await Deno.writeTextFile(`${t.fake.stateDir}/calls.jsonl`, ""); // the setup is not under test
  return t;
}

async function datasets(t: ZoneTestEnv): Promise<string[]> {
  return (await t.fake.state()).datasets.map((d) => d.name).sort();
}

async function zfsCalls(t: ZoneTestEnv): Promise<string[][]> {
  return (await t.fake.calls()).filter((c) => c.tool === "zfs" && c.argv[0] !== "list").map((c) =>
    c.argv
  );
}

Deno.test("create on a host whose zonepath root is no ZFS dataset is refused before anything is changed", async () => {
  const t = await freshHost();
  try {
    const init = await t.ok(["init", ...DEFAULT_POOL_ARGS]);
    assertStringIncludes(init, "note: /zones is not a ZFS dataset");
    const before = await t.fake.snapshot();
    const r = await t.zone(["create", "web01"]);
    assertEquals(r.code, 1, r.stdout);
    assertStringIncludes(r.stderr, "zmgr::zfs::no_dataset");
    assertStringIncludes(r.stderr, "/zones is not a ZFS dataset");
    assertStringIncludes(r.stderr, "zone init --create-dataset POOL/zones");
    assertEquals(await t.fake.snapshot(), before);
    assertEquals(await registeredZones(t.root), []);
    // Only queries ran: zoneadm list, zonecfg info, zfs list.
    const changing = (await t.fake.calls()).filter((c) =>
      !c.argv.includes("list") && !c.argv.includes("info")
    );
    assertEquals(changing, []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("init --create-dataset creates the zonepath root's dataset once; create then installs under it", async () => {
  const t = await freshHost();
  try {
    const first = await t.ok(["init", ...DEFAULT_POOL_ARGS, "--create-dataset", "rpool/zones"]);
    assertStringIncludes(first, "created ZFS dataset rpool/zones (mounted at /zones)");
    assertEquals(await zfsCalls(t), [["create", "-o", "mountpoint=/zones", "rpool/zones"]]);
    const zones = (await t.fake.state()).datasets.find((d) => d.name === "rpool/zones");
    assertEquals(zones?.props.mountpoint, "/zones");

    const again = await t.ok(["init", "--create-dataset", "rpool/zones"]);
    assertStringIncludes(again, "zonepath root is ZFS dataset rpool/zones (mounted at /zones)");
    assertEquals((await zfsCalls(t)).length, 1, "the second init ran no zfs create");

    await t.ok(["create", "web01"]);
    assertEquals(await datasets(t), ["rpool", "rpool/zones", "rpool/zones/web01"]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("init --create-dataset uses the zonepath root of the config.kdl already there", async () => {
  const t = await freshHost();
  try {
    await t.ok(["init", "--zonepath-root", "/export/zones"]);
    const out = await t.ok(["init", "--create-dataset", "rpool/ezones"]);
    assertStringIncludes(out, "created ZFS dataset rpool/ezones (mounted at /export/zones)");
    assertEquals(await zfsCalls(t), [["create", "-o", "mountpoint=/export/zones", "rpool/ezones"]]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a failed init --create-dataset leaves neither a dataset nor registry files", async () => {
  const t = await freshHost();
  try {
    const r = await t.zone(["init", "--create-dataset", "tank/zones"]);
    assertEquals(r.code, 1, r.stdout);
    assertStringIncludes(r.stderr, "cannot create 'tank/zones': no such pool 'tank'");
    assertEquals(await datasets(t), ["rpool"]);
    const left = [...Deno.readDirSync(t.root)].filter((e) => e.isFile && e.name !== ".lock");
    assertEquals(left, []);
    assertEquals([...Deno.readDirSync(`${t.root}/templates`)], []);
    assertEquals(await registeredZones(t.root), []);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a zfs query that fails for an unknown reason is not taken for a missing dataset", async () => {
  const t = await zoneTestEnv();
  try {
    const fault = { FAKE_ILLUMOS_FAIL: "zfs:list" };
    const before = await t.fake.snapshot();
    const r = await t.zone(["create", "web01"], fault);
    assertEquals(r.code, 1, r.stdout);
    assertStringIncludes(r.stderr, "zmgr::system::query_failed");
    assertStringIncludes(r.stderr, "internal error: failed to initialize ZFS library");
    assert(!r.stderr.includes("no_dataset"), r.stderr);
    assertEquals(await t.fake.snapshot(), before);
    assertEquals(await registeredZones(t.root), []);

    const init = await t.zone(["init", "--create-dataset", "rpool/zones2"], fault);
    assertEquals(init.code, 1, init.stdout);
    assertStringIncludes(init.stderr, "zmgr::system::query_failed");
    assertEquals(await zfsCalls(t), [], "no zfs create after a failed query");
    assertEquals(await t.fake.snapshot(), before);
  } finally {
    await t.cleanup();
  }
});

/** Zone `name` created by zmgr, then halted and uninstalled behind its back (configured again). */
async function createdThenUninstalled(t: ZoneTestEnv, name: string): Promise<void> {
  await t.ok(["create", name]);
  await t.fake.run("zoneadm", ["-z", name, "halt"]);
  await t.fake.run("zoneadm", ["-z", name, "uninstall", "-F"]);
}

Deno.test("destroy removes the zone dataset an interrupted uninstall left, and no other dataset", async () => {
  const t = await zoneTestEnv();
  try {
    // What an uninstall interrupted after the zone went back to configured leaves.
    await createdThenUninstalled(t, "web01");
    for (const ds of ["rpool/zones/web01", "rpool/zones/other"]) {
      assertEquals((await t.fake.run("zfs", ["create", ds])).code, 0);
    }
    const out = await t.ok(["destroy", "web01"]);
    assertStringIncludes(out, "destroyed dataset rpool/zones/web01");
    assertEquals(await datasets(t), ["rpool", "rpool/zones", "rpool/zones/other"]);
    const destroys = (await zfsCalls(t)).filter((a) => a[0] === "destroy");
    assertEquals(destroys, [["destroy", "-r", "rpool/zones/web01"]]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("destroy keeps a dataset at the zonepath that zmgr's create did not make", async () => {
  const t = await zoneTestEnv();
  try {
    await createdThenUninstalled(t, "web01");
    const mk = await t.fake.run("zfs", ["create", "-o", "mountpoint=/zones/web01", "rpool/data"]);
    assertEquals(mk.code, 0, mk.stderr);
    const out = await t.ok(["destroy", "web01"]);
    assertStringIncludes(out, "kept dataset rpool/data at /zones/web01 (zmgr did not create it)");
    assertEquals(await datasets(t), ["rpool", "rpool/data", "rpool/zones"]);
    assertEquals((await zfsCalls(t)).filter((a) => a[0] === "destroy"), []);
  } finally {
    await t.cleanup();
  }
});
