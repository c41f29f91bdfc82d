/**
 * `deno task demo`: vmctl's main job, for real. Builds (or reuses) the small
 * Debian cloud-init guest image, then, in a temp data dir and a temp copy of
 * examples/ (nothing of yours is touched): `vmctl up` of examples/VMFile.kdl
 * (boot, SSH readiness, a shell and a file provisioner), a command through
 * `vmctl ssh`, `vmctl down --destroy`. Each step prints the command it runs,
 * its output and how long it took.
 *
 * Missing Debian packages are installed when run as root (scripts/install-deps.sh);
 * otherwise the exact apt-get line is printed. Without usable KVM the guest
 * runs under TCG: expect about a minute to boot.
 *
 * `deno task demo --noop` walks through the commands on the noop backend instead
 * (no guest, a few seconds).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { vmctlPermissionFlags } from "./build/permissions.ts";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const NOOP = Deno.args.includes("--noop");
const BACKEND = NOOP ? "noop" : "qemu";
/**
 * TCG unless VMCTL_ACCEL says otherwise: it boots everywhere (~1 min), while a nested or
 * half-working /dev/kvm can pass vmctl's KVM probe and still stop a real guest dead.
 */
const ACCEL = Deno.env.get("VMCTL_ACCEL") || "tcg";

/** One demo step: a title and the vmctl arguments; `fails` marks an expected refusal. */
interface Step {
  title: string;
  args: string[];
  fails?: boolean;
}

const REAL_STEPS: Step[] = [
  { title: "what `up` will do with examples/VMFile.kdl", args: ["up", "--dry-run"] },
  {
    title: "bring it up: create, boot, wait for SSH, run the provisioners",
    args: ["up", "--timeout", "600"],
  },
  { title: "the VM", args: ["list"] },
  {
    title: "run a command in the guest (strict host-key check, exit status passed through)",
    args: ["ssh", "--", "head -1 /etc/os-release; uname -sr; cat /tmp/motd"],
  },
  { title: "the provisioning log", args: ["log", "demo", "--provision", "-n", "8"] },
  {
    title: "stop and remove it: no work dir, no process, no registry entry",
    args: ["down", "--destroy"],
  },
  { title: "nothing left", args: ["list"] },
];

const NOOP_STEPS: Step[] = [
  {
    title: "create a VM from a local image (a seed ISO with a generated key is written)",
    args: ["create", "--name", "hello", "--image", "guest.qcow2", "--vcpus", "2"],
  },
  { title: "start it", args: ["start", "hello"] },
  { title: "starting it again is refused with the reason", args: ["start", "hello"], fails: true },
  { title: "list VMs", args: ["list"] },
  { title: "everything known about it", args: ["status", "hello"] },
  { title: "pause and continue it", args: ["suspend", "hello"] },
  { title: "", args: ["resume", "hello"] },
  { title: "stop it", args: ["stop", "hello", "--timeout", "10"] },
  { title: "destroy it (work dir and registry entry)", args: ["destroy", "hello"] },
  { title: "what `up` would do with examples/VMFile.kdl", args: ["up", "--dry-run"] },
  { title: "bring it up (create, start; provisioners need a real guest)", args: ["up"] },
  { title: "machine-readable list", args: ["list", "--json"] },
  { title: "a second `up` has nothing to do", args: ["up"] },
  { title: "stop everything in the VMFile", args: ["down"] },
  { title: "and remove it", args: ["down", "--destroy"] },
  { title: "nothing left", args: ["list"] },
];

const bold = (s: string) => (Deno.stdout.isTerminal() ? `\x1b[1m${s}\x1b[0m` : s);

/** Run a helper script with inherited stderr; resolves with its stdout, or exits the demo. */
async function script(argv: string[], what: string): Promise<string> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    console.error(`demo: ${what} failed (exit ${out.code}); see the message above`);
    Deno.exit(1);
  }
  return stdout;
}

/** Copy examples/ into the project dir; `guest.qcow2` is the real image (or a stand-in for noop). */
async function prepareProject(dir: string, image: string | undefined): Promise<void> {
  for await (const e of Deno.readDir(join(ROOT, "examples"))) {
    if (e.isFile) await Deno.copyFile(join(ROOT, "examples", e.name), join(dir, e.name));
    if (e.isDirectory) {
      await Deno.mkdir(join(dir, e.name));
      for await (const f of Deno.readDir(join(ROOT, "examples", e.name))) {
        if (f.isFile) {
          await Deno.copyFile(join(ROOT, "examples", e.name, f.name), join(dir, e.name, f.name));
        }
      }
    }
  }
  if (image) await Deno.symlink(image, join(dir, "guest.qcow2"));
  else await Deno.writeFile(join(dir, "guest.qcow2"), new Uint8Array(512));
}

/** The permissions vmctl runs with: exactly those of `deno task vmctl` (scoped, never -A). */
async function vmctlPermissions(): Promise<string[]> {
  return ["-q", ...await vmctlPermissionFlags()];
}

let image: string | undefined;
if (!NOOP) {
  console.log(bold("# host packages (installed when root, else the apt-get line is printed)"));
  console.log(
    (await script(["bash", join(ROOT, "scripts", "install-deps.sh")], "installing Debian packages"))
      .trimEnd(),
  );
  console.log(
    bold("\n# the guest image: Debian bookworm + cloud-init + sshd (built once, cached)"),
  );
  const t0 = performance.now();
  const out = await script(
    ["bash", join(ROOT, "scripts", "build-guest-image.sh")],
    "building the guest image",
  );
  image = out.trim().split("\n").pop()!;
  console.log(`${image} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}

const data = await Deno.makeTempDir({ prefix: "vmctl-demo-data-" });
const project = await Deno.makeTempDir({ prefix: "vmctl-demo-project-" });
const perms = await vmctlPermissions();
const vmctl = (args: string[]) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, join(ROOT, "main.ts"), ...args],
    cwd: project,
    // INIT_CWD: `deno task demo` sets it to the repo; vmctl must see the project dir instead.
    env: { XDG_DATA_HOME: data, VMCTL_BACKEND: BACKEND, VMCTL_ACCEL: ACCEL, INIT_CWD: project },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
let failures = 0;
try {
  await prepareProject(project, image);
  console.log(bold(
    `vmctl demo: backend ${BACKEND}${
      NOOP ? "" : `, accel ${ACCEL} (VMCTL_ACCEL=auto lets vmctl pick KVM)`
    }, ` +
      `XDG_DATA_HOME=${data}, project ${project}\n`,
  ));
  for (const step of NOOP ? NOOP_STEPS : REAL_STEPS) {
    if (step.title) console.log(bold(`# ${step.title}`));
    console.log(`$ vmctl ${step.args.join(" ")}`);
    const t0 = performance.now();
    const out = await vmctl(step.args);
    const ok = step.fails ? out.code !== 0 : out.code === 0;
    if (!ok) {
      failures++;
      console.log(`!! unexpected exit code ${out.code}`);
      if (!NOOP) break; // later steps depend on this one
    }
    if (!NOOP) console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    console.log();
  }
} finally {
  // Whatever happened, leave no VM behind.
  if (failures && !NOOP) await vmctl(["down", "--destroy"]).catch(() => {});
  await Deno.remove(data, { recursive: true });
  await Deno.remove(project, { recursive: true });
}
console.log(
  failures ? `demo: ${failures} step(s) went wrong` : "demo: every step behaved as expected",
);
Deno.exit(failures ? 1 : 0);
