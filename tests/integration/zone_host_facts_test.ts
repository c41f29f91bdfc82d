/** Smaller host facts of issue #21: autoboot, closed pipes, pools, brands. */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { zoneTestEnv } from "./zone_harness.ts";
import { vmctlArgv, vmctlEnv } from "../helpers/runtime.ts";

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
    const vmctl = vmctlArgv(["zone", "list", "--root", t.root]).map((a) => `"${a}"`).join(" ");
    const cmd = `${vmctl} | true`;
    const r = await new Deno.Command("bash", {
      args: ["-o", "pipefail", "-c", cmd],
      env: vmctlEnv(t.env),
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

Deno.test("templates of brands zmgr cannot install are refused when read, with the reason", async () => {
  const t = await zoneTestEnv();
  try {
    const lx = await t.zone(["template", "create", "lx", "--brand", "lx", "--pool", "default"]);
    assertEquals(lx.code, 1);
    assertStringIncludes(lx.stderr, "zmgr::template::unsupported_brand");
    assertStringIncludes(lx.stderr, "needs a Linux image");
    await Deno.writeTextFile(`${t.root}/templates/vm.kdl`, 'brand "bhyve"\npool "default"\n');
    const vm = await t.zone(["create", "v1", "--template", "vm"]);
    assertEquals(vm.code, 1);
    assertStringIncludes(vm.stderr, "zmgr::template::unsupported_brand");
    assertEquals((await t.fake.state()).zones, [], "nothing was created");
  } finally {
    await t.cleanup();
  }
});
