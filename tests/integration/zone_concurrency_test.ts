import { assert, assertEquals } from "../helpers/assert.ts";
import { registeredZones, zoneTestEnv } from "./zone_harness.ts";

// 50 real `deno run main.ts zone create` processes at once, each running its
// fake illumos commands (about 5 processes per create). Measured on the 2-core
// CI machine: see docs/decisions.md (Zones).
const N = 50;

Deno.test(`${N} concurrent creates get ${N} distinct addresses and lose no entry`, async () => {
  const t = await zoneTestEnv();
  try {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => t.zone(["create", `c${i}`, "--no-boot", "--json"])),
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`${N} parallel creates took ${seconds} s`);
    for (const r of results) assertEquals(r.code, 0, r.stderr);
    const addresses = results.map((r) => JSON.parse(r.stdout).address as string);
    assertEquals(new Set(addresses).size, N, "no address handed out twice");
    const expected = Array.from({ length: N }, (_, i) => `10.0.0.${i + 2}/24`).sort();
    assertEquals([...addresses].sort(), expected, "the lowest N addresses, no holes");
    assertEquals((await registeredZones(t.root)).length, N, "every entry is on disk");
    const list = JSON.parse(await t.ok(["list", "--json"]));
    assertEquals(list.filter((z: { status: string }) => z.status === "active").length, N);
    const s = await t.fake.state();
    assertEquals(s.zones.filter((z) => z.state === "installed").length, N);
  } finally {
    await t.cleanup();
  }
});

Deno.test("concurrent creates of one name: exactly one wins, the others are refused cleanly", async () => {
  const t = await zoneTestEnv();
  try {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => t.zone(["create", "same", "--no-boot"])),
    );
    const winners = results.filter((r) => r.code === 0);
    assertEquals(winners.length, 1, results.map((r) => r.stderr).join("\n"));
    for (const r of results.filter((r) => r.code !== 0)) {
      assertEquals(r.code, 1);
      assert(/zmgr::zone::(registered|exists)/.test(r.stderr), r.stderr);
    }
    assertEquals(await registeredZones(t.root), ["same"]);
    const s = await t.fake.state();
    assertEquals(s.zones.filter((z) => z.name === "same").map((z) => z.state), ["installed"]);
    assertEquals(s.links.filter((l) => l.name === "same0").length, 1);
  } finally {
    await t.cleanup();
  }
});
