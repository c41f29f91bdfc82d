import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { createFakeIllumos } from "../../fixtures/illumos/mod.ts";

Deno.test("zlogin writes a sysding.conf from stdin into the zone's root", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "s1", brand: "ipkg", state: "running" });
    const conf = "setup_timezone UTC\nsetup_interface PRIMARY v4 10.0.0.5/24\n";
    const w = await fake.run("zlogin", ["s1", "cat", ">", "/etc/sysding.conf"], { stdin: conf });
    assertEquals([w.code, w.stderr], [0, ""]);
    assertEquals(await fake.zoneFile("s1", "/etc/sysding.conf"), conf);
    const m = await fake.run("zlogin", ["s1", "chmod", "400", "/etc/sysding.conf"]);
    assertEquals(m.code, 0);
    const st = await Deno.stat(`${fake.fsRoot}/zones/s1/root/etc/sysding.conf`);
    assertEquals((st.mode ?? 0) & 0o777, 0o400);
    assertEquals((await fake.zloginCalls()).map((c) => c.argv[0]), ["cat", "chmod"]);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zlogin re-parses the joined args, so only caller-quoted values stay whole", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "q1", brand: "ipkg", state: "running" });
    const unquoted = await fake.run("zlogin", ["q1", "echo", "a;", "touch", "/x"]);
    assertEquals([unquoted.code, unquoted.stderr], [127, "sh: touch: not found\n"]);
    const quoted = await fake.run("zlogin", ["q1", "echo", "'a; touch /x'"]);
    assertEquals([quoted.code, quoted.stdout], [0, "a; touch /x\n"]);
    const dollar = await fake.run("zlogin", ["q1", "echo", "$(id)"]);
    assertEquals(dollar.code, 2, "expansion is refused, never silently run");
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zlogin refuses zones that are not running with zlogin's texts", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "c1", brand: "ipkg" });
    await fake.addZone({ name: "i1", brand: "ipkg", state: "installed" });
    const cases: [string, string][] = [
      ["c1", "zlogin: cannot login to a zone which is 'configured'\n"],
      ["i1", "zlogin: login allowed only to running zones (i1 is 'installed').\n"],
      ["nope", "zlogin: zone 'nope' unknown\n"],
      ["global", "zlogin: 'zlogin' not applicable to the global zone\n"],
    ];
    for (const [zone, err] of cases) {
      const r = await fake.run("zlogin", [zone, "true"]);
      assertEquals([r.code, r.stderr], [1, err], zone);
    }
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zone install copies the global publishers and pkg -R shows them per image", async () => {
  const fake = await createFakeIllumos({ flavor: "omnios" });
  try {
    await fake.addPublisher("omnios", "https://pkg.omnios.org/r151046/core/");
    await fake.run("zonecfg", ["-z", "p1", "create -b; set brand=lipkg; set zonepath=/zones/p1"]);
    const inst = await fake.run("zoneadm", [
      "-z",
      "p1",
      "install",
      "-P",
      "extra=https://pkg.example.org/x/",
    ]);
    assertStringIncludes(inst.stdout, "   Publisher: Using extra (https://pkg.example.org/x/).\n");
    const zone = await fake.run("pkg", ["-R", "/zones/p1/root", "publisher", "-H", "-F", "tsv"]);
    assertEquals(
      zone.stdout,
      "extra\ttrue\tfalse\ttrue\torigin\tonline\thttps://pkg.example.org/x/\t-\n",
    );
    const gz = await fake.run("pkg", ["publisher", "-H", "-F", "tsv"]);
    assertEquals(
      gz.stdout,
      "omnios\ttrue\tfalse\ttrue\torigin\tonline\thttps://pkg.omnios.org/r151046/core/\t-\n",
    );
    const none = await fake.run("pkg", ["-R", "/zones/none/root", "publisher"]);
    assertEquals([none.code, none.stderr], [1, "pkg: No image rooted at '/zones/none/root'\n"]);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zfs reports libzfs errors and refuses to destroy a dataset with children", async () => {
  const fake = await createFakeIllumos();
  try {
    const cases: [string[], string][] = [
      [["create", "rpool/zones"], "cannot create 'rpool/zones': dataset already exists\n"],
      [["create", "rpool/a/b"], "cannot create 'rpool/a/b': parent does not exist\n"],
      [["create", "tank/x"], "cannot create 'tank/x': no such pool 'tank'\n"],
      [["destroy", "rpool/nope"], "cannot open 'rpool/nope': dataset does not exist\n"],
      [
        ["destroy", "rpool"],
        "cannot destroy 'rpool': filesystem has children\nuse '-r' to destroy the following datasets:\nrpool/zones\n",
      ],
    ];
    for (const [args, err] of cases) {
      const r = await fake.run("zfs", args);
      assertEquals([r.code, r.stderr], [1, err], args.join(" "));
    }
    assertEquals((await fake.run("zfs", ["create", "-p", "rpool/a/b"])).code, 0);
    assertEquals(
      (await fake.run("zfs", ["list", "-H", "-o", "name,mountpoint", "-r", "rpool/a"])).stdout,
      "rpool/a\t/rpool/a\nrpool/a/b\t/rpool/a/b\n",
    );
  } finally {
    await fake.cleanup();
  }
});
