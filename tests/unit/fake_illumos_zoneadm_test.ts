import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { createFakeIllumos } from "../../fixtures/illumos/mod.ts";

Deno.test("zoneadm list -cp prints the 8-field parsable lines with zonepath colons escaped", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "web1", brand: "lipkg", state: "running" });
    await fake.addZone({ name: "odd", brand: "ipkg", zonepath: "/zones/a:b" });
    const s = await fake.state();
    const [web1, odd] = s.zones;
    const r = await fake.run("zoneadm", ["list", "-cp"]);
    assertEquals(r.code, 0);
    assertEquals(
      r.stdout,
      "0:global:running:/::ipkg:shared:0\n" +
        `${web1.zoneid}:web1:running:/zones/web1:${web1.uuid}:lipkg:excl:${web1.debugid}\n` +
        `-:odd:configured:/zones/a\\:b:${odd.uuid}:ipkg:excl:${odd.debugid}\n`,
    );
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zoneadm list -v pads columns exactly like zoneadm.c, trailing spaces included", async () => {
  const fake = await createFakeIllumos({ flavor: "omnios" });
  try {
    await fake.addZone({ name: "db1", brand: "sparse", state: "installed" });
    const r = await fake.run("zoneadm", ["list", "-iv"]);
    assertEquals(
      r.stdout,
      "  ID NAME             STATUS     PATH                           BRAND    IP    \n" +
        "   0 global           running    /                              ipkg     shared\n" +
        "   - db1              installed  /zones/db1                     sparse   excl  \n",
    );
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zoneadm list without options shows only running zones; -p with -v exits 1", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "a1", brand: "ipkg", state: "installed" });
    assertEquals((await fake.run("zoneadm", ["list"])).stdout, "global\n");
    const r = await fake.run("zoneadm", ["list", "-pv"]);
    assertEquals(r.code, 1);
    assertEquals(r.stderr, "zoneadm: list -p and -v are mutually exclusive.\n");
    const n = await fake.run("zoneadm", ["list", "-n"]);
    assertEquals(n.code, 2, "-n is OmniOS-only");
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zoneadm walks configured -> installed -> running -> installed -> configured", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "z1", brand: "ipkg" });
    const inst = await fake.run("zoneadm", ["-z", "z1", "install"]);
    assertEquals(inst.code, 0, inst.stderr);
    assertMatch(inst.stdout, /^A ZFS file system has been created for this zone\.\n/);
    assertEquals((await fake.run("zoneadm", ["-z", "z1", "boot"])).code, 0);
    assertMatch((await fake.run("zoneadm", ["-z", "z1", "list", "-p"])).stdout, /^\d+:z1:running:/);
    assertEquals((await fake.run("zoneadm", ["-z", "z1", "halt"])).code, 0);
    const un = await fake.run("zoneadm", ["-z", "z1", "uninstall", "-F"]);
    assertEquals(un.code, 0, un.stderr);
    const s = await fake.state();
    assertEquals(s.zones[0].state, "configured");
    assert(!s.datasets.some((d) => d.name === "rpool/zones/z1"), "zonepath dataset destroyed");
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zoneadm refuses wrong-state operations with the real texts", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "c1", brand: "ipkg" });
    await fake.addZone({ name: "r1", brand: "ipkg", state: "running" });
    const cases: [string[], number, string][] = [
      [["-z", "c1", "boot"], 1, "zoneadm: zone 'c1': must be installed before boot.\n"],
      [
        ["-z", "c1", "uninstall", "-F"],
        1,
        "zoneadm: zone 'c1': is already in state 'configured'.\n",
      ],
      [["-z", "c1", "halt"], 1, "zone 'c1': cannot manage a zone which is in state 'configured'\n"],
      [
        ["-z", "r1", "uninstall", "-F"],
        1,
        "zoneadm: zone 'r1': uninstall operation is invalid for running zones.\n",
      ],
      [
        ["-z", "r1", "install"],
        1,
        "zoneadm: zone 'r1': install operation is invalid for running zones.\n",
      ],
      [["-z", "r1", "boot"], 0, "zone 'r1': zone is already booted\n"],
      [["-z", "nope", "boot"], 1, "zoneadm: nope: No such zone configured\n"],
      [
        ["-z", "global", "halt"],
        1,
        "zoneadm: zone 'global': halt operation is invalid for the global zone.\n",
      ],
    ];
    for (const [args, code, err] of cases) {
      const r = await fake.run("zoneadm", args);
      assertEquals([r.code, r.stderr], [code, err], args.join(" "));
    }
    const noF = await fake.run("zoneadm", ["-z", "r1", "halt"]);
    assertEquals(noF.code, 0);
    const again = await fake.run("zoneadm", ["-z", "r1", "uninstall"]);
    assertEquals(
      again.stderr,
      "zoneadm: zone 'r1': Input not from terminal and -F not specified: uninstall not done.\n",
    );
    const twice = await fake.run("zoneadm", ["-z", "r1", "install"]);
    assertEquals(twice.stderr, "zoneadm: zone 'r1': is already installed.\n");
  } finally {
    await fake.cleanup();
  }
});

Deno.test("an injected install fault changes nothing; install-brand leaves the zone incomplete", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "f1", brand: "lipkg" });
    const before = await fake.snapshot();
    const r = await fake.run("zoneadm", ["-z", "f1", "install"], {
      env: { FAKE_ILLUMOS_FAIL: "zoneadm:install" },
    });
    assertEquals(r.code, 1);
    assertMatch(r.stderr, /zoneadm: zone f1 failed to verify\n$/);
    assertEquals(await fake.snapshot(), before);
    const b = await fake.run("zoneadm", ["-z", "f1", "install"], {
      env: { FAKE_ILLUMOS_FAIL: "zoneadm:install-brand" },
    });
    assertEquals(b.code, 1);
    assertEquals((await fake.state()).zones[0].state, "incomplete");
    const retry = await fake.run("zoneadm", ["-z", "f1", "install"]);
    assertEquals(retry.stderr, "zoneadm: zone 'f1': zone is incomplete; uninstall required.\n");
  } finally {
    await fake.cleanup();
  }
});

Deno.test("boot fails verification when an exclusive zone's VNIC does not exist", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({
      name: "n1",
      brand: "ipkg",
      state: "installed",
      net: [{ physical: "n1net0" }],
    });
    const r = await fake.run("zoneadm", ["-z", "n1", "boot"]);
    assertEquals(r.code, 1);
    assertMatch(r.stderr, /zoneadm: zone n1 failed to verify\n$/);
    await fake.addVnic("n1net0", "igb0");
    assertEquals((await fake.run("zoneadm", ["-z", "n1", "boot"])).code, 0);
    const del = await fake.run("dladm", ["delete-vnic", "n1net0"]);
    assertEquals([del.code, del.stderr], [1, "dladm: vnic deletion failed: link busy\n"]);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("an ipkg-family install whose zonepath's parent is no ZFS dataset fails as the brand installer does", async () => {
  const fake = await createFakeIllumos();
  try {
    assertEquals((await fake.run("zfs", ["destroy", "rpool/zones"])).code, 0);
    await fake.addZone({ name: "n1", brand: "ipkg" });
    const r = await fake.run("zoneadm", ["-z", "n1", "install"]);
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr,
      "ERROR: the zonepath must be a ZFS dataset.\n" +
        "The parent directory of the zonepath must be a ZFS dataset so that the\n" +
        "zonepath ZFS dataset can be created properly.\n",
    );
    assert(!r.stdout.includes("A ZFS file system has been created"), r.stdout);
    assertEquals((await fake.state()).zones[0].state, "incomplete");
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zfs list prints name and mountpoint TAB-separated; a zfs:list fault is an internal error", async () => {
  const fake = await createFakeIllumos();
  try {
    const args = ["list", "-H", "-o", "name,mountpoint", "-t", "filesystem"];
    const r = await fake.run("zfs", args);
    assertEquals([r.code, r.stdout], [0, "rpool\t/rpool\nrpool/zones\t/zones\n"]);
    const c = await fake.run("zfs", ["create", "-o", "mountpoint=/export/zones", "rpool/ez"]);
    assertEquals(c.code, 0);
    assertEquals(
      (await fake.run("zfs", args)).stdout,
      "rpool\t/rpool\nrpool/ez\t/export/zones\nrpool/zones\t/zones\n",
    );
    const gone = await fake.run("zfs", ["destroy", "rpool/nope"]);
    assertEquals([gone.code, gone.stderr], [
      1,
      "cannot open 'rpool/nope': dataset does not exist\n",
    ]);
    const f = await fake.run("zfs", args, { env: { FAKE_ILLUMOS_FAIL: "zfs:list" } });
    assertEquals([f.code, f.stdout, f.stderr], [
      1,
      "",
      "internal error: failed to initialize ZFS library\n",
    ]);
  } finally {
    await fake.cleanup();
  }
});
