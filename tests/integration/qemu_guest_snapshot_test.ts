/**
 * Snapshots of a real Debian cloud-init guest under TCG, through the CLI, in
 * one boot: a memory snapshot brings back the files and the processes of the
 * moment it was taken, and `stop --save` -> `start` resumes the same boot
 * (same boot id, uptime continuing) instead of booting again.
 */
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { e2eSkipped, guestImage } from "../helpers/guest_image.ts";
import { tempHome, vmctl } from "../helpers/vmctl_cli.ts";
import { alive } from "./qemu_helpers.ts";

const ENV = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg" };
const NAME = "snapg";
/** Cold boot to SSH under TCG while other tests boot guests too. */
const BOOT_BUDGET_S = "600";

Deno.test({
  name:
    "a restored memory snapshot has the files and processes of its moment; a saved state resumes the same boot",
  ignore: e2eSkipped(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const image = await guestImage();
    const home = await tempHome();
    const run = (args: string[]) => vmctl(home, args, { env: ENV });
    const ok = async (args: string[]) => {
      const r = await run(args);
      assertEquals(r.code, 0, `vmctl ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
      return r.stdout;
    };
    const guest = (cmd: string) => ok(["ssh", NAME, "--timeout", BOOT_BUDGET_S, "--", cmd]);
    const status = async () => JSON.parse(await ok(["status", NAME, "--json"]));
    let pid: number | null = null;
    try {
      await ok(["create", "--name", NAME, "--image", image, "--vcpus", "2", "--memory", "1024"]);
      await ok(["start", NAME]);
      pid = (await status()).pid;

      await guest("echo first > m1 && sync");
      const sleeper = (await guest(
        "setsid nohup sleep 424242 >/dev/null 2>&1 < /dev/null & echo $!",
      )).trim();
      assertMatch(sleeper, /^\d+$/);
      await ok(["snapshot", "create", NAME, "s1"]);
      await guest(`rm m1 && echo second > m2 && kill ${sleeper} && sync`);

      await ok(["snapshot", "restore", NAME, "s1"]);
      assertEquals(await guest("cat m1"), "first\n");
      assertEquals(await guest("test -e m2 && echo present || echo absent"), "absent\n");
      assertEquals((await guest(`ps -o args= -p ${sleeper}`)).trim(), "sleep 424242");
      const list = JSON.parse(await ok(["snapshot", "list", NAME, "--json"]));
      assertEquals(list.map((s: { name: string; memory: boolean }) => [s.name, s.memory]), [
        ["s1", true],
      ]);

      const [bootId, uptime] = (await guest(
        "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f1 /proc/uptime",
      )).trim().split("\n");
      await ok(["stop", NAME, "--save"]);
      assert(!alive(pid), "QEMU ended after the state was saved");
      let st = await status();
      assertEquals([st.state, st.saved_state?.tag], ["stopped", "vmctl-saved-state"]);

      await ok(["start", NAME]);
      pid = (await status()).pid;
      st = await status();
      assertEquals([st.state, st.saved_state], ["running", null]);
      const [bootIdAfter, uptimeAfter] = (await guest(
        "cat /proc/sys/kernel/random/boot_id; cut -d' ' -f1 /proc/uptime",
      )).trim().split("\n");
      assertEquals(bootIdAfter, bootId, "the same boot continues");
      assert(Number(uptimeAfter) >= Number(uptime), `uptime ${uptimeAfter} < ${uptime}`);
      assertEquals((await guest(`ps -o args= -p ${sleeper}`)).trim(), "sleep 424242");
      assertEquals(
        JSON.parse(await ok(["snapshot", "list", NAME, "--json"])).length,
        1,
        "the saved state was used once and deleted",
      );
    } finally {
      await run(["destroy", NAME]);
      if (alive(pid)) Deno.kill(pid!, "SIGKILL");
      await Deno.remove(home, { recursive: true });
    }
  },
});
