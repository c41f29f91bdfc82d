/**
 * `deno task bench snapshot`: on one VM in one run, the time from `vmctl
 * start` to SSH-ready for a cold boot and for a resume from `stop --save`,
 * the time from `vmctl snapshot restore` to SSH-ready, and the size of a
 * memory snapshot against the guest's used memory.
 *
 * Method: the guest image from scripts/build-guest-image.sh, TCG, 2 vCPUs,
 * 1 GiB, user networking. Each figure is wall time of the vmctl commands run
 * as a user runs them (`deno run main.ts`, start-up included), SSH-ready
 * meaning `vmctl ssh NAME -- true` succeeded (a key login with the VM's
 * strict known_hosts). The snapshot is taken once the guest has settled
 * (cloud-init done); used memory is `free -b` "used" (anonymous and kernel
 * memory) and "used + buff/cache" (every page the guest has touched), read
 * just before the snapshot. BENCH_ROUNDS (default 3) restores and resumes.
 * Targets: resume <= 1/10 of the cold boot, restore <= 3 s, snapshot size <=
 * used memory + 10 %.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { guestImage } from "../../tests/helpers/guest_image.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const NAME = "bench-snap";

const image = await guestImage();
const home = await Deno.makeTempDir({ prefix: "vmctl-bench-snapshot-" });
const env = { XDG_DATA_HOME: home, VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg", NO_COLOR: "1" };

async function vmctl(args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), ...args],
    env,
    cwd: home,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`vmctl ${args.join(" ")} failed:\n${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

/** SSH budget: a cold TCG boot on a machine other test runs load can take many minutes. */
const guest = (cmd: string) => vmctl(["ssh", NAME, "--timeout", "3600", "--", cmd]);

/** Each figure as soon as it is measured (a run cut short keeps what it had). */
const note = (line: string) => console.error(`bench snapshot: ${line}`);

/** Milliseconds from running `first` to a successful SSH login. */
async function toSshReady(first: string[]): Promise<number> {
  const t0 = performance.now();
  await vmctl(first);
  await guest("true");
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (b: number) => `${(b / 1024 ** 2).toFixed(0)} MiB`;

try {
  await vmctl(["create", "--name", NAME, "--image", image, "--vcpus", "2", "--memory", "1024"]);
  const cold = await toSshReady(["start", NAME]);
  note(`cold boot to SSH-ready ${s(cold)}`);
  await guest("cloud-init status --wait >/dev/null 2>&1 || true; sync");
  const [used, cache] = (await guest("free -b | awk '/^Mem:/ {print $3, $6}'")).trim().split(" ")
    .map(Number);
  await vmctl(["snapshot", "create", NAME, "bench"]);
  const size = JSON.parse(await vmctl(["snapshot", "list", NAME, "--json"]))[0].vm_state_bytes;
  note(`snapshot ${mib(size)}; guest used ${mib(used)}, buff/cache ${mib(cache)}`);

  const restores: number[] = [];
  const resumes: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    restores.push(await toSshReady(["snapshot", "restore", NAME, "bench"]));
    note(`restore to SSH-ready ${s(restores[i])}`);
    await vmctl(["stop", NAME, "--save"]);
    resumes.push(await toSshReady(["start", NAME]));
    note(`resume to SSH-ready ${s(resumes[i])}`);
  }
  const resume = median(resumes);
  const restore = median(restores);
  console.log("| measure | value | target | met |");
  console.log("|---|---|---|---|");
  console.log(`| cold boot: start to SSH-ready | ${s(cold)} | - | - |`);
  console.log(
    `| resume from stop --save: start to SSH-ready (median of ${ROUNDS}: ${
      resumes.map(s).join(", ")
    }) | ${s(resume)} | <= ${s(cold / 10)} (1/10 cold) | ${resume <= cold / 10 ? "yes" : "no"} |`,
  );
  console.log(
    `| snapshot restore to SSH-ready (median of ${ROUNDS}: ${restores.map(s).join(", ")}) | ${
      s(restore)
    } | <= 3.00 s | ${restore <= 3000 ? "yes" : "no"} |`,
  );
  console.log(
    `| memory snapshot size (guest used ${mib(used)}, used + buff/cache ${mib(used + cache)}) | ${
      mib(size)
    } | <= ${mib(used * 1.1)} (used + 10 %) | ${size <= used * 1.1 ? "yes" : "no"} |`,
  );
} finally {
  await vmctl(["destroy", NAME]).catch((e) => console.error(String(e)));
  await Deno.remove(home, { recursive: true });
}
