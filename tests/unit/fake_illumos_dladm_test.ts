import { assertEquals } from "../helpers/assert.ts";
import { createFakeIllumos } from "../../fixtures/illumos/mod.ts";

Deno.test("dladm show-vnic and show-link print the facts' samples byte for byte", async () => {
  const fake = await createFakeIllumos({ links: ["igb0"] });
  try {
    await fake.addEtherstub("stub0");
    assertEquals((await fake.run("dladm", ["create-vnic", "-l", "igb0", "web1net0"])).code, 0);
    assertEquals(
      (await fake.run("dladm", ["show-vnic"])).stdout,
      "LINK         OVER         SPEED  MACADDRESS        MACADDRTYPE         VID\n" +
        "web1net0     igb0         1000   2:8:20:4d:1a:2b   random              0\n",
    );
    assertEquals(
      (await fake.run("dladm", ["show-vnic", "-p", "-o", "LINK,OVER"])).stdout,
      "web1net0:igb0\n",
    );
    assertEquals(
      (await fake.run("dladm", ["show-vnic", "-p", "-o", "LINK,MACADDRESS"])).stdout,
      "web1net0:2\\:8\\:20\\:4d\\:1a\\:2b\n",
    );
    assertEquals((await fake.run("dladm", ["show-vnic", "-p", "-o", "LINK"])).stdout, "web1net0\n");
    assertEquals(
      (await fake.run("dladm", ["show-link"])).stdout,
      "LINK        CLASS     MTU    STATE    BRIDGE     OVER\n" +
        "igb0        phys      1500   up       --         --\n" +
        "stub0       etherstub 9000   unknown  --         --\n" +
        "web1net0    vnic      1500   up       --         igb0\n",
    );
    assertEquals(
      (await fake.run("dladm", ["show-link", "-p", "-o", "LINK,CLASS,OVER"])).stdout,
      "igb0:phys:\nstub0:etherstub:\nweb1net0:vnic:igb0\n",
    );
    assertEquals(
      (await fake.run("dladm", ["show-phys"])).stdout,
      "LINK         MEDIA                STATE      SPEED  DUPLEX    DEVICE\n" +
        "igb0         Ethernet             up         1000   full      igb0\n",
    );
  } finally {
    await fake.cleanup();
  }
});

Deno.test("dladm enforces the link name rules and reports clashes with libdladm's texts", async () => {
  const fake = await createFakeIllumos();
  try {
    const cases: [string[], string][] = [
      [
        ["create-vnic", "-l", "igb0", "vnic_default_nginx"],
        "dladm: invalid link name 'vnic_default_nginx'\n",
      ],
      [["create-vnic", "-l", "igb0", "0net0"], "dladm: invalid link name '0net0'\n"],
      [["create-vnic", "-l", "igb0", "a-b0"], "dladm: invalid link name 'a-b0'\n"],
      [
        ["create-vnic", "-l", "igb0", "a".repeat(30) + "0"],
        `dladm: invalid link name '${"a".repeat(30)}0'\n`,
      ],
      [
        ["create-vnic", "-l", "igb0", "a".repeat(31) + "0"],
        `dladm: link name too long '${"a".repeat(31)}0'\n`,
      ],
      [["create-vnic", "-l", "nope0", "ok0"], "dladm: invalid link name 'nope0'\n"],
      [["delete-vnic", "ghost0"], "dladm: invalid link name 'ghost0'\n"],
      [["delete-vnic", "igb0"], "dladm: 'igb0' is not a vnic\n"],
      [["show-vnic", "ghost0"], "dladm: invalid vnic name 'ghost0': object not found\n"],
      [["show-link", "-p"], "dladm: -p requires -o\n"],
    ];
    for (const [args, err] of cases) {
      const r = await fake.run("dladm", args);
      assertEquals([r.code, r.stderr], [1, err], args.join(" "));
    }
    assertEquals(
      (await fake.run("dladm", ["create-vnic", "-l", "igb0", "a".repeat(29) + "0"])).code,
      0,
    );
    assertEquals((await fake.run("dladm", ["create-vnic", "-l", "igb0", "z.net_1"])).code, 0);
    const dup = await fake.run("dladm", ["create-vnic", "-l", "net0", "z.net_1"]);
    assertEquals(dup.stderr, "dladm: vnic creation over net0 failed: object already exists\n");
    const bad = await fake.run("dladm", ["frobnicate"]);
    assertEquals([bad.code, bad.stderr.split("\n")[0]], [
      1,
      "dladm: unknown subcommand 'frobnicate'",
    ]);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("an injected create-vnic fault prints the libdladm failure and creates nothing", async () => {
  const fake = await createFakeIllumos();
  try {
    const before = await fake.snapshot();
    const r = await fake.run("dladm", ["create-vnic", "-l", "igb0", "f0"], {
      env: { FAKE_ILLUMOS_FAIL: "dladm:create-vnic" },
    });
    assertEquals([r.code, r.stderr], [
      1,
      "dladm: vnic creation over igb0 failed: operation failed\n",
    ]);
    assertEquals(await fake.snapshot(), before);
    assertEquals(await fake.calls(), [{
      tool: "dladm",
      argv: ["create-vnic", "-l", "igb0", "f0"],
    }]);
  } finally {
    await fake.cleanup();
  }
});
