import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { createFakeIllumos, FAKE_BIN_DIR } from "../../fixtures/illumos/mod.ts";

Deno.test("20 parallel zonecfg creates under the state lock all land", async () => {
  const fake = await createFakeIllumos();
  try {
    const names = Array.from({ length: 20 }, (_, i) => `par${i}`);
    const results = await Promise.all(
      names.map((n) => fake.run("zonecfg", ["-z", n, `create -b; set zonepath=/zones/${n}`])),
    );
    assertEquals(results.map((r) => r.code), names.map(() => 0));
    const s = await fake.state();
    assertEquals(s.zones.map((z) => z.name).sort(), [...names].sort());
    assertEquals(new Set(s.zones.map((z) => z.debugid)).size, 20, "debug ids are unique");
    assertEquals((await fake.calls()).length, 20, "every call is logged, none lost");
  } finally {
    await fake.cleanup();
  }
});

Deno.test("a fake command without FAKE_ILLUMOS_STATE exits 2 naming the variable", async () => {
  const r = await new Deno.Command(`${FAKE_BIN_DIR}/zoneadm`, {
    args: ["list"],
    env: { FAKE_ILLUMOS_DENO: Deno.execPath(), FAKE_ILLUMOS_STATE: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(r.code, 2);
  assertMatch(new TextDecoder().decode(r.stderr), /FAKE_ILLUMOS_STATE is not set/);
});

Deno.test("the fakes are found through PATH and log argv and stdin of each call", async () => {
  const fake = await createFakeIllumos();
  try {
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        "printf 'create -b\\nset zonepath=/zones/p1\\n' | zonecfg -z p1 && zoneadm list -c",
      ],
      env: fake.env,
      stdout: "piped",
      stderr: "piped",
    });
    const r = await child.output();
    assertEquals(new TextDecoder().decode(r.stdout), "global\np1\n");
    assertEquals(await fake.calls(), [
      { tool: "zonecfg", argv: ["-z", "p1"], stdin: "create -b\nset zonepath=/zones/p1\n" },
      { tool: "zoneadm", argv: ["list", "-c"] },
    ]);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("a slow install keeps the zone incomplete while it runs, without holding the lock", async () => {
  const fake = await createFakeIllumos();
  try {
    await fake.addZone({ name: "slow1", brand: "ipkg" });
    const install = fake.run("zoneadm", ["-z", "slow1", "install"], {
      env: { FAKE_ILLUMOS_DELAY_MS: "5000" },
    });
    let seen = "";
    for (const deadline = Date.now() + 60_000; seen === "" && Date.now() < deadline;) {
      const r = await fake.run("zoneadm", ["-z", "slow1", "list", "-p"]);
      if (r.stdout.includes(":incomplete:")) seen = r.stdout;
      else await new Promise((res) => setTimeout(res, 50));
    }
    assertMatch(seen, /^-:slow1:incomplete:/);
    assertEquals((await install).code, 0);
    assert((await fake.state()).zones[0].state === "installed");
  } finally {
    await fake.cleanup();
  }
});
