/**
 * The full QEMU lifecycle with a real Debian cloud-init guest under TCG,
 * driven through the CLI: start -> console.log shows the kernel booting ->
 * suspend (QMP says paused) -> resume -> graceful ACPI stop (the guest powers
 * itself off) -> start again -> destroy. Two boots; about two minutes.
 */
import { join } from "node:path";
import { connectQmp } from "../../lib/qmp.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { e2eSkipped, guestImage } from "../helpers/guest_image.ts";
import { tempHome, vmctl } from "../helpers/vmctl_cli.ts";
import { alive } from "./qemu_helpers.ts";

const ENV = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg" };

async function status(home: string, name: string): Promise<Record<string, unknown>> {
  const r = await vmctl(home, ["status", name, "--json"], { env: ENV });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function waitForConsole(path: string, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await Deno.readTextFile(path).catch(() => "");
    if (re.test(text)) return text;
    if (Date.now() > deadline) {
      throw new Error(
        `console.log never matched ${re} in ${timeoutMs / 1000} s:\n${text.slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

Deno.test({
  name: "a real guest boots, suspends, resumes, powers off on ACPI, restarts and is destroyed",
  ignore: e2eSkipped(),
  async fn() {
    const image = await guestImage();
    const home = await tempHome();
    let pid: number | null = null;
    try {
      const create = await vmctl(home, [
        "create",
        "--name",
        "g1",
        "--image",
        image,
        "--vcpus",
        "2",
        "--memory",
        "1024",
      ], { env: ENV });
      assertEquals(create.code, 0, create.stderr);

      const start = await vmctl(home, ["start", "g1"], { env: ENV });
      assertEquals(start.code, 0, start.stderr);
      let st = await status(home, "g1");
      assertEquals(st.state, "running");
      pid = st.pid as number;
      const workDir = st.work_dir as string;
      const consoleLog = join(workDir, "console.log");
      await waitForConsole(consoleLog, /Linux version \d/, 120_000);

      assertEquals((await vmctl(home, ["suspend", "g1"], { env: ENV })).code, 0);
      st = await status(home, "g1");
      assertEquals(st.state, "suspended");
      const qmp = await connectQmp(join(workDir, "qmp.sock"), { timeoutMs: 5_000 });
      try {
        assertEquals((await qmp.execute<{ status: string }>("query-status")).status, "paused");
      } finally {
        qmp.close();
      }
      assertEquals((await vmctl(home, ["resume", "g1"], { env: ENV })).code, 0);
      assertEquals((await status(home, "g1")).state, "running");

      // ACPI power-off needs systemd up: wait for the serial login prompt.
      await waitForConsole(consoleLog, /login:/, 240_000);
      const t0 = Date.now();
      const stop = await vmctl(home, ["stop", "g1", "--timeout", "300"], { env: ENV });
      assertEquals(stop.code, 0, stop.stderr);
      assert(!stop.stderr.includes("SIGTERM"), `stop escalated:\n${stop.stderr}`);
      assert(Date.now() - t0 < 300_000);
      assert(!alive(pid), "QEMU exited");
      assertStringIncludes(await Deno.readTextFile(consoleLog), "reboot: Power down");
      assertEquals((await status(home, "g1")).state, "stopped");

      const again = await vmctl(home, ["start", "g1"], { env: ENV });
      assertEquals(again.code, 0, again.stderr);
      pid = (await status(home, "g1")).pid as number;
      assert(alive(pid));
      await waitForConsole(consoleLog, /Linux version \d/, 120_000);

      const destroy = await vmctl(home, ["destroy", "g1"], { env: ENV });
      assertEquals(destroy.code, 0, destroy.stderr);
      assert(!alive(pid), "destroy ended QEMU");
      assert(!(await Deno.stat(workDir).then(() => true, () => false)), "work dir removed");
    } finally {
      if (alive(pid)) Deno.kill(pid!, "SIGKILL");
      await Deno.remove(home, { recursive: true });
    }
  },
});
