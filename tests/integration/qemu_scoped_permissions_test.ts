/**
 * The QEMU lifecycle under the exact permission set of `deno task vmctl`
 * (never --allow-all). Deno refuses /proc and /dev reads without
 * --allow-all, so this proves the backend's process checks still work there.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { tempHome, vmctl } from "../helpers/vmctl_cli.ts";
import { vmctlPermissionFlags } from "../../scripts/build/permissions.ts";
import { alive, blankImage } from "./qemu_helpers.ts";

const ENV = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg" };

async function taskPermissions(): Promise<string[]> {
  const perms = await vmctlPermissionFlags();
  assert(!perms.includes("--allow-all"), "the task must be scoped");
  return ["--no-prompt", ...perms];
}

Deno.test("with the task's scoped permissions a QEMU VM starts, reports running and stops", async () => {
  const home = await tempHome();
  const perms = await taskPermissions();
  let pid: number | null = null;
  try {
    const img = await blankImage(home, "scoped.qcow2");
    const run = (args: string[]) => vmctl(home, args, { env: ENV, perms });
    const create = await run(["create", "--name", "scoped", "--image", img, "--memory", "128"]);
    assertEquals(create.code, 0, create.stderr);
    const start = await run(["start", "scoped"]);
    assertEquals(start.code, 0, start.stderr);
    const st = await run(["status", "scoped", "--json"]);
    assertEquals(st.code, 0, st.stderr);
    const status = JSON.parse(st.stdout);
    assertEquals(status.state, "running");
    pid = status.pid;
    assert(alive(pid), "QEMU is running");
    const stop = await run(["stop", "scoped", "--timeout", "1"]);
    assertEquals(stop.code, 0, stop.stderr);
    assertStringIncludes(stop.stderr, "SIGTERM");
    assert(!alive(pid), "stop ended QEMU");
    const destroy = await run(["destroy", "scoped"]);
    assertEquals(destroy.code, 0, destroy.stderr);
  } finally {
    if (alive(pid)) Deno.kill(pid!, "SIGKILL");
    await Deno.remove(home, { recursive: true });
  }
});
