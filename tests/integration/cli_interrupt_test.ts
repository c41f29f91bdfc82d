import { existsSync } from "node:fs";
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, spawnVmctl, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start `vmctl ARGS` in the background with a slow noop operation. */
function spawnSlow(home: string, args: string[], delay: string): Deno.ChildProcess {
  return spawnVmctl(home, args, { VMCTL_BACKEND: "noop", VMCTL_NOOP_DELAY: delay });
}

/** Wait until the store shows `name` marked busy by another process. */
async function waitBusy(home: string, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const doc = JSON.parse(await Deno.readTextFile(join(home, "vmctl", "vms.json")));
      if (doc.vms[name]?.operation) return;
    } catch { /* not written yet */ }
    await sleep(20);
  }
  throw new Error(`VM ${name} never became busy`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`${signal} during create undoes it: no record, no work dir`, async () => {
    const home = await tempHome();
    try {
      const image = await fakeImage(home);
      const child = spawnSlow(home, ["create", "--name", "slow", "--image", image], "prepare:5000");
      await waitBusy(home, "slow");
      child.kill(signal);
      const out = await child.output();
      assertEquals(out.code, 130);
      assertStringIncludes(new TextDecoder().decode(out.stderr), "nothing is left behind");
      assertEquals(JSON.parse(await vmctlOk(home, ["list", "--json"])), []);
      // An early signal can come before the vms dir exists: absent or empty, nothing is left.
      const vmsDir = join(home, "vmctl", "vms");
      assertEquals(existsSync(vmsDir) ? [...Deno.readDirSync(vmsDir)] : [], []);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}

Deno.test("a VM busy in another vmctl is refused with vm::busy and shown as such in list", async () => {
  const home = await tempHome();
  try {
    await vmctlOk(home, ["create", "--name", "b", "--image", await fakeImage(home)]);
    // The start outlasts the three vmctl runs below, even on a busy machine.
    const child = spawnSlow(home, ["start", "b"], "start:15000");
    await waitBusy(home, "b");
    const r = await vmctl(home, ["stop", "b"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vm::busy");
    assertStringIncludes(r.stderr, "`start`");
    assertStringIncludes(await vmctlOk(home, ["list"]), "starting");
    const list = JSON.parse(await vmctlOk(home, ["list", "--json"]));
    assertEquals(list[0].busy.action, "start");
    assertEquals((await child.output()).code, 0);
    assertEquals(JSON.parse(await vmctlOk(home, ["list", "--json"]))[0].state, "running");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
