// The main job, end to end, on a real Debian guest under TCG: real cloud-init
// reading our seed ISO (generated key, injected host key, user created by
// us), OpenSSH on both ends. One file, ordered steps, three boots in total.
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { type CliResult, tempHome, vmctl } from "../helpers/vmctl_cli.ts";
import { e2eSkipped, guestImage } from "../helpers/guest_image.ts";
import { closeAllMasters } from "../../backends/ssh/exec.ts";

const NAME = "e2e";
const BOOT_BUDGET = "420"; // seconds; a TCG boot is ~45 s alone, more on a busy CI machine

function vmfileText(image: string, steps: string): string {
  return `vm "${NAME}" {
    image "${image}"
    vcpus 2
    memory 1024
    disk 3
    cloud-init {
        hostname "${NAME}"
    }
    ssh {
        user "vm"
    }
${steps}}
`;
}

const STEPS = `    provision "shell" {
        inline "echo inline-ran; date +%s%N >> /home/vm/runs"
    }
    provision "shell" {
        script "setup.sh"
    }
    provision "file" {
        source "payload.txt"
        destination "/home/vm/payload.txt"
    }
`;

const FAILING_STEPS = `    provision "shell" {
        inline "echo before-failure"
    }
    provision "shell" {
        inline "echo failing >&2; exit 3"
    }
    provision "shell" {
        inline "touch /home/vm/after-failure"
    }
`;

/** Processes whose command line mentions `needle` (qemu, ssh masters). */
async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (cmd.includes(needle)) found.push(`${e.name}: ${cmd.replaceAll("\0", " ")}`);
  }
  return found;
}

/** Processes mentioning `needle` once they had up to 5 s to exit (an ssh master ends with its VM). */
async function leftoverProcesses(needle: string): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = await processesMentioning(needle);
    if (found.length === 0 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 200));
  }
}

Deno.test({
  name: "up, ssh, down, up, provision, reload, down --destroy on a real cloud-init guest",
  ignore: e2eSkipped(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const image = await guestImage();
    const home = await tempHome();
    const dir = join(home, "project");
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "VMFile.kdl"), vmfileText(image, STEPS));
    await Deno.writeTextFile(
      join(dir, "failing.kdl"),
      vmfileText(image, FAILING_STEPS),
    );
    await Deno.writeTextFile(
      join(dir, "setup.sh"),
      '#!/bin/sh\nset -e\necho "script-ran as $(id -un) from $0" | tee /home/vm/script-ran\n',
    );
    await Deno.writeTextFile(join(dir, "payload.txt"), 'payload: it\'s "here"\n');
    await Deno.chmod(join(dir, "payload.txt"), 0o640);
    const workDir = join(home, "vmctl", "vms", NAME);
    const env = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg" };
    const run = (args: string[]) => vmctl(home, args, { cwd: dir, env });
    const ok = async (args: string[]): Promise<CliResult> => {
      const r = await run(args);
      if (r.code !== 0) {
        const log = await Deno.readTextFile(join(workDir, "console.log")).catch(() => "");
        throw new Error(
          `vmctl ${
            args.join(" ")
          } exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}` +
            `\n--- console.log (tail)\n${log.split("\n").slice(-30).join("\n")}`,
        );
      }
      return r;
    };
    const guest = async (cmd: string) => (await ok(["ssh", NAME, "--", cmd])).stdout;
    const closeSharedConnection = () => closeAllMasters(workDir);

    try {
      await t.step(
        "up boots, waits for SSH and runs inline, script and file provisioners",
        async () => {
          const r = await ok(["up", "--timeout", BOOT_BUDGET]);
          assertStringIncludes(r.stdout, "inline-ran");
          assertStringIncludes(r.stdout, "[3/3] file");
          const log = await Deno.readTextFile(join(workDir, "provision.log"));
          assertMatch(log, /step 1\/3: shell inline: echo inline-ran/);
          assertStringIncludes(log, "script-ran as vm from /tmp/vmctl-provision-");
        },
      );

      await t.step("the provisioners' results are visible over vmctl ssh", async () => {
        assertEquals((await guest("wc -l < /home/vm/runs")).trim(), "1");
        assertMatch(await guest("cat /home/vm/script-ran"), /^script-ran as vm from \/tmp\//);
        assertEquals(await guest("cat /home/vm/payload.txt"), 'payload: it\'s "here"\n');
        assertEquals((await guest("stat -c %a /home/vm/payload.txt")).trim(), "640");
        // The uploaded script was removed after it ran.
        assertEquals((await guest("ls /tmp | grep -c vmctl-provision- || true")).trim(), "0");
      });

      await t.step("vmctl ssh returns the remote exit status", async () => {
        const r = await run(["ssh", NAME, "--", "exit 7"]);
        assertEquals(r.code, 7);
      });

      await t.step("vmctl ssh checks the injected host key strictly", async () => {
        const kh = join(workDir, "known_hosts");
        const original = await Deno.readTextFile(kh);
        assertMatch(original, new RegExp(`^vmctl-${NAME} ssh-ed25519 `, "m"));
        await closeSharedConnection(); // a shared connection would skip the check
        const forged = await new Deno.Command("ssh-keygen", {
          args: ["-q", "-t", "ed25519", "-N", "", "-f", join(home, "forged")],
        }).output();
        assert(forged.success);
        const forgedPub = (await Deno.readTextFile(join(home, "forged.pub"))).split(" ")
          .slice(0, 2).join(" ");
        await Deno.writeTextFile(kh, `vmctl-${NAME} ${forgedPub}\n`);
        try {
          const r = await run(["ssh", NAME, "--timeout", "60", "--", "true"]);
          assertEquals(r.code, 1);
          assertStringIncludes(r.stderr, "vmctl::ssh::host_key_mismatch");
        } finally {
          await Deno.writeTextFile(kh, original);
        }
        await ok(["ssh", NAME, "--timeout", BOOT_BUDGET, "--", "true"]);
      });

      await t.step("down stops the VM; up restarts it and provisions again", async () => {
        await ok(["down"]);
        assertEquals(await leftoverProcesses(workDir), []);
        const r = await ok(["up", "--timeout", BOOT_BUDGET]);
        assertStringIncludes(r.stdout, "inline-ran");
        assertEquals((await guest("wc -l < /home/vm/runs")).trim(), "2");
      });

      await t.step("provision re-runs the steps on the running VM", async () => {
        await ok(["provision", "--timeout", BOOT_BUDGET]);
        assertEquals((await guest("wc -l < /home/vm/runs")).trim(), "3");
      });

      await t.step("a failing provisioner stops the run; later steps do not run", async () => {
        const r = await run(["provision", "--file", "failing.kdl", "--timeout", BOOT_BUDGET]);
        assertEquals(r.code, 1);
        assertStringIncludes(r.stderr, "vmctl::provision::step_failed");
        assertStringIncludes(r.stderr, "step 2 of 3 (shell inline)");
        assertStringIncludes(r.stderr, "exit code 3");
        assertStringIncludes(r.stdout, "before-failure");
        assertEquals((await guest("test -e /home/vm/after-failure; echo $?")).trim(), "1");
      });

      await t.step("reload --no-provision gives a fresh disk and a new host key", async () => {
        const before = await Deno.readTextFile(join(workDir, "known_hosts"));
        await ok(["reload", "--no-provision", "--timeout", BOOT_BUDGET]);
        const after = await Deno.readTextFile(join(workDir, "known_hosts"));
        assert(before !== after, "the recreated VM has a new host key");
        const r = await ok([
          "ssh",
          NAME,
          "--timeout",
          BOOT_BUDGET,
          "--",
          "test -e /home/vm/runs; echo $?",
        ]);
        assertEquals(r.stdout.trim(), "1");
      });

      await t.step("down --destroy leaves no work dir, no process, no store entry", async () => {
        await ok(["down", "--destroy"]);
        assertEquals(await Deno.stat(workDir).then(() => true, () => false), false);
        assertEquals(await leftoverProcesses(workDir), []);
        const store = JSON.parse(await Deno.readTextFile(join(home, "vmctl", "vms.json")));
        assertEquals(Object.keys(store.vms), []);
      });
    } finally {
      // Whatever failed above, leave no VM running.
      await run(["down", "--destroy"]).catch(() => {});
      for (const p of await processesMentioning(workDir)) {
        const pid = Number(p.split(":")[0]);
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await Deno.remove(home, { recursive: true }).catch(() => {});
    }
  },
});
