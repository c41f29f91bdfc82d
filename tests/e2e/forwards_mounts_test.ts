// Port forwards, shared folders and the stable SSH port on a real Debian guest under TCG, one
// boot for all checks (and one more start, to compare the SSH port): a VMFile with a forward and
// two mounts (one read-only) is brought `up`; when `up` returns the folders are mounted, a guest
// write shows on the host, the read-only one refuses writes, and a server started in the guest
// answers on the forwarded host port.
import { join } from "node:path";
import { freeLoopbackPort } from "../../backends/ports.ts";
import { closeAllMasters } from "../../backends/ssh/exec.ts";
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { e2eSkipped, guestImage } from "../helpers/guest_image.ts";
import { type CliResult, tempHome, vmctl } from "../helpers/vmctl_cli.ts";

const NAME = "share";
// seconds: a TCG boot takes ~45 s on an idle machine, many minutes beside other TCG guests
const BOOT_BUDGET = "1500";

function vmfileText(image: string, webPort: number): string {
  return `vm "${NAME}" {
    image "${image}"
    vcpus 2
    memory 1024
    cloud-init {
        hostname "${NAME}"
    }
    ssh {
        user "vm"
    }
    forward host=${webPort} guest=8000
    mount "./src" "/src"
    mount "./docs" "/docs" {
        readonly #true
    }
}
`;
}

/** GET `url` until it answers (the guest server takes a moment to listen). */
async function fetchText(url: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return await res.text();
      await res.body?.cancel();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${url} never answered`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

Deno.test({
  name: "a forwarded port, a shared folder (read-write and read-only), one SSH port across starts",
  ignore: e2eSkipped(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const image = await guestImage();
    const home = await tempHome();
    const dir = join(home, "project");
    const webPort = await freeLoopbackPort();
    await Deno.mkdir(join(dir, "src"), { recursive: true });
    await Deno.mkdir(join(dir, "docs"));
    // 9p with security_model=none checks the host's modes: let the guest user write here.
    await Deno.chmod(join(dir, "src"), 0o777);
    await Deno.writeTextFile(join(dir, "src", "hello.txt"), "hello from the host\n");
    await Deno.writeTextFile(join(dir, "docs", "readme.txt"), "read me\n");
    await Deno.writeTextFile(join(dir, "VMFile.kdl"), vmfileText(image, webPort));
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
    const guest = (cmd: string) => run(["ssh", NAME, "--", cmd]);
    const sshPort = async () => JSON.parse((await ok(["status", NAME, "--json"])).stdout).ssh_port;

    try {
      await ok(["up", "--timeout", BOOT_BUDGET]);

      await t.step("when up returns, the host file is readable in the guest", async () => {
        const r = await guest("cat /src/hello.txt");
        assertEquals(r.stdout, "hello from the host\n", r.stderr);
      });

      await t.step("a guest write shows on the host", async () => {
        assertEquals((await guest("echo written in the guest > /src/out.txt")).code, 0);
        assertEquals(
          await Deno.readTextFile(join(dir, "src", "out.txt")),
          "written in the guest\n",
        );
      });

      await t.step(
        "the read-only mount is readable and refuses writes, even from root",
        async () => {
          assertEquals((await guest("cat /docs/readme.txt")).stdout, "read me\n");
          const w = await guest("sudo touch /docs/new.txt");
          assertEquals(w.code, 1);
          assertStringIncludes(w.stderr, "Read-only file system");
          assertEquals(
            await Deno.stat(join(dir, "docs", "new.txt")).then(() => true, () => false),
            false,
          );
        },
      );

      await t.step("a server in the guest answers on the forwarded host port", async () => {
        const serve = await guest(
          // every fd away from the session, or ssh waits for the server to exit
          "setsid python3 -m http.server 8000 --directory /src >/dev/null 2>&1 </dev/null &",
        );
        assertEquals(serve.code, 0, serve.stderr);
        const body = await fetchText(`http://127.0.0.1:${webPort}/hello.txt`, 60_000);
        assertEquals(body, "hello from the host\n");
      });

      await t.step("the SSH port is the same after stop and start", async () => {
        const before = await sshPort();
        await closeAllMasters(workDir);
        await ok(["stop", NAME]);
        await ok(["start", NAME]);
        assertEquals(await sshPort(), before);
      });
    } finally {
      await closeAllMasters(workDir);
      await run(["destroy", NAME]);
      await Deno.remove(home, { recursive: true });
    }
  },
});
