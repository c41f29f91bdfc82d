import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { createFakeIllumos, type FakeIllumos } from "../../fixtures/illumos/mod.ts";

const WEB1 = [
  "create -b",
  "set brand=lipkg",
  "set zonepath=/zones/web1",
  "set autoboot=true",
  "set ip-type=exclusive",
  "add net",
  "set physical=web1net0",
  "set allowed-address=10.0.0.5/24",
  "set defrouter=10.0.0.1",
  "end",
  "add attr",
  "set name=dns-domain",
  "set type=string",
  "set value=example.com",
  "end",
].join("\n") + "\n";

const GLOBALS =
  "zonename: web1\nzonepath: /zones/web1\nbrand: lipkg\nautoboot: true\nbootargs: \npool: \n" +
  "limitpriv: \nscheduling-class: \nip-type: exclusive\nhostid: \nfs-allowed: \n";
const ATTR = "attr:\n\tname: dns-domain\n\ttype: string\n\tvalue: example.com\n";

async function withWeb1(flavor: "illumos" | "omnios", fn: (f: FakeIllumos) => Promise<void>) {
  const fake = await createFakeIllumos({ flavor });
  try {
    const r = await fake.run("zonecfg", ["-z", "web1", "-f", "-"], { stdin: WEB1 });
    assertEquals([r.code, r.stderr], [0, ""]);
    await fn(fake);
  } finally {
    await fake.cleanup();
  }
}

Deno.test("zonecfg info matches the OmniOS sample byte for byte", async () => {
  await withWeb1("omnios", async (fake) => {
    const r = await fake.run("zonecfg", ["-z", "web1", "info"]);
    assertEquals(
      r.stdout,
      GLOBALS +
        "net:\n\taddress not specified\n\tallowed-address: 10.0.0.5/24\n\tdefrouter: 10.0.0.1\n" +
        "\tglobal-nic not specified\n\tmac-addr not specified\n\tphysical: web1net0\n\tvlan-id not specified\n" +
        ATTR,
    );
  });
});

Deno.test("zonecfg info uses the illumos-gate net property order in the illumos flavour", async () => {
  await withWeb1("illumos", async (fake) => {
    const r = await fake.run("zonecfg", ["-z", "web1", "info"]);
    assertEquals(
      r.stdout,
      GLOBALS +
        "net:\n\taddress not specified\n\tallowed-address: 10.0.0.5/24\n\tphysical: web1net0\n\tdefrouter: 10.0.0.1\n" +
        ATTR,
    );
  });
});

Deno.test("zonecfg export quotes every resource value on OmniOS and none on illumos", async () => {
  const head =
    "create -b\nset zonepath=/zones/web1\nset brand=lipkg\nset autoboot=true\nset ip-type=exclusive\n";
  await withWeb1("omnios", async (fake) => {
    assertEquals(
      (await fake.run("zonecfg", ["-z", "web1", "export"])).stdout,
      head +
        'add net\nset allowed-address="10.0.0.5/24"\nset physical="web1net0"\nset defrouter="10.0.0.1"\nend\n' +
        'add attr\nset name="dns-domain"\nset type="string"\nset value="example.com"\nend\n',
    );
  });
  await withWeb1("illumos", async (fake) => {
    assertEquals(
      (await fake.run("zonecfg", ["-z", "web1", "export"])).stdout,
      head +
        "add net\nset allowed-address=10.0.0.5/24\nset physical=web1net0\nset defrouter=10.0.0.1\nend\n" +
        "add attr\nset name=dns-domain\nset type=string\nset value=example.com\nend\n",
    );
  });
});

Deno.test("zonecfg joins argv into one line, so a ';' inside a value injects a command", async () => {
  const fake = await createFakeIllumos();
  try {
    const r = await fake.run("zonecfg", [
      "-z",
      "inj",
      "create -b; set zonepath=/zones/inj; add attr; set name=note; set type=string; set value=x; set autoboot=true; end",
    ]);
    // `set autoboot=true` ran inside the attr scope: autoboot is not an attr property.
    assertEquals([r.code, r.stderr], [1, "autoboot: No such property type\n"]);
    assertEquals((await fake.state()).zones, [], "the failed script saved nothing");
    const quoted = await fake.run("zonecfg", [
      "-z",
      "inj",
      'create -b; set zonepath=/zones/inj; add attr; set name=note; set type=string; set value="a b=c"; end',
    ]);
    assertEquals(quoted.code, 0, quoted.stderr);
    assertMatch(
      (await fake.run("zonecfg", ["-z", "inj", "info", "attr"])).stdout,
      /\tvalue: "a b=c"\n/,
    );
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zonecfg rejects what the real one rejects, with its texts and exit codes", async () => {
  const fake = await createFakeIllumos();
  try {
    const cases: [string[], number, string][] = [
      [["-z", "bad/name", "info"], 2, "bad/name: Bogus zone name\n"],
      [["-z", "SUNWx", "info"], 2, "SUNWx: Bogus zone name\n"],
      [["-z", "nz", "info"], 1, "nz: No such zone configured\n"],
      [["-z", "z", "create -b; set zonepath=zones/z"], 1, "zones/z is not an absolute path.\n"],
      [["-z", "z", "create -b; set zonepath=/"], 1, "/ is not allowed as a zonepath.\n"],
      [["-z", "z", "create -b; add bogus"], 1, "bogus: No such resource type\n"],
      [
        ["-z", "z", "create -b; set zonepath=/zones/z; add net; end"],
        1,
        "physical not specified\n",
      ],
      [
        ["-z", "z", "create -b; set autoboot=yes"],
        1,
        "autoboot value must be 'true' or 'false'.\n",
      ],
      [
        ["-z", "z", "create -b; add attr; set name=-x; set type=string; set value=v; end"],
        1,
        "Invalid attr name -x: must start with an alpha-numeric character.\n",
      ],
      [
        ["-z", "z", "create -b; set ip-type=exclusive"],
        1,
        "zonepath not specified\nZone z failed to verify\n",
      ],
      [
        [
          "-z",
          "z",
          "create -b; set zonepath=/zones/z; set ip-type=exclusive; add net; set physical=z0; set address=10.0.0.2; end",
        ],
        1,
        "net: address cannot be specified for an exclusive IP type\nZone z failed to verify\n",
      ],
    ];
    for (const [args, code, err] of cases) {
      const r = await fake.run("zonecfg", args);
      assertEquals([r.code, r.stderr.split("usage:")[0]], [code, err], args.join(" "));
    }
    assertEquals((await fake.run("zonecfg", [])).code, 2, "missing -z is a usage error");
  } finally {
    await fake.cleanup();
  }
});

Deno.test("zonecfg -f FILE stops at the first error and names its line", async () => {
  const fake = await createFakeIllumos();
  const file = await Deno.makeTempFile({ suffix: ".zonecfg" });
  try {
    await Deno.writeTextFile(
      file,
      '# a comment\ncreate -b\nset zonepath="/zones/f1"\nset colour=blue\ncommit\n',
    );
    const r = await fake.run("zonecfg", ["-z", "f1", "-f", file]);
    assertEquals([r.code, r.stderr], [1, `On line 4 of ${file}:\ncolour: No such property type\n`]);
    assertEquals((await fake.state()).zones, []);
  } finally {
    await Deno.remove(file);
    await fake.cleanup();
  }
});

Deno.test("zonecfg create and delete follow the existing-zone and state rules", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "e1", brand: "ipkg" });
    await fake.addZone({ name: "i1", brand: "ipkg", state: "installed" });
    const again = await fake.run("zonecfg", ["-z", "e1", "create"]);
    assertEquals(
      again.stderr,
      "Zone e1 exists, input not from terminal and -F not specified:\ncreate command ignored, exiting.\n",
    );
    const inst = await fake.run("zonecfg", ["-z", "i1", "create", "-F"]);
    assertEquals(inst.stderr, "Zone i1 already installed; create not allowed.\n");
    const del = await fake.run("zonecfg", ["-z", "i1", "delete"]);
    assertEquals(
      del.stderr,
      "Zone i1 not in configured state; delete not allowed.  Use -F to force delete.\n",
    );
    const noF = await fake.run("zonecfg", ["-z", "e1", "delete"]);
    assertEquals(
      noF.stderr,
      "Input not from terminal and -F not specified:\ndelete command ignored, exiting.\n",
    );
    const before = await fake.snapshot();
    const faulted = await fake.run("zonecfg", ["-z", "e1", "delete", "-F"], {
      env: { FAKE_ILLUMOS_FAIL: "zonecfg:delete" },
    });
    assertEquals([faulted.code, await fake.snapshot()], [1, before]);
    assertEquals((await fake.run("zonecfg", ["-z", "e1", "delete", "-F"])).code, 0);
    assertEquals((await fake.state()).zones.map((z) => z.name), ["i1"]);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("an injected commit fault leaves no zone behind", async () => {
  const fake = await createFakeIllumos();
  try {
    const r = await fake.run("zonecfg", ["-z", "web1", "-f", "-"], {
      stdin: WEB1,
      env: { FAKE_ILLUMOS_FAIL: "zonecfg:commit" },
    });
    assertEquals([r.code, r.stderr], [1, "web1: Problem saving file\n"]);
    assertEquals((await fake.state()).zones, []);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("a stdin script goes on after an error, still commits, and exits 1 (interactive mode)", async () => {
  const fake = await createFakeIllumos({});
  try {
    const script = "create -b\nset zonepath=/zones/z1\nset bogus=1\nverify\ncommit\n";
    const r = await fake.run("zonecfg", ["-z", "z1", "-f", "-"], { stdin: script });
    assertEquals([r.code, r.stderr], [1, "On line 3:\nbogus: No such property type\n"]);
    assertEquals((await fake.state()).zones.map((z) => z.name), ["z1"]);
  } finally {
    await fake.cleanup();
  }
});
