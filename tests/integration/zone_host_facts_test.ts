/** Smaller host facts of issue #21: autoboot, closed pipes, pools, brands. */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { MAIN, zoneTestEnv } from "./zone_harness.ts";

Deno.test("create --no-boot configures the zone without autoboot", async () => {
  const t = await zoneTestEnv();
  try {
    await t.ok(["create", "nb", "--no-boot"]);
    const z = (await t.fake.state()).zones.find((x) => x.name === "nb")!;
    assertEquals([z.state, z.autoboot], ["installed", false]);
  } finally {
    await t.cleanup();
  }
});

Deno.test("zone list into a pipe closed early exits quietly", async () => {
  const t = await zoneTestEnv();
  try {
    for (let i = 0; i < 3; i++) await t.ok(["create", `p${i}`, "--no-boot"]);
    // `true` exits without reading, as `head` does once it has its lines.
    const cmd = `"${Deno.execPath()}" run -A "${MAIN}" zone list --root "${t.root}" | true`;
    const r = await new Deno.Command("bash", {
      args: ["-o", "pipefail", "-c", cmd],
      env: t.env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assertEquals(stderr, "");
    assertEquals(r.code, 0);
  } finally {
    await t.cleanup();
  }
});
