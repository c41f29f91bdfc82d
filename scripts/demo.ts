/**
 * `deno task demo`: a walk through vmctl on the noop backend, in a temp data
 * dir and a temp copy of examples/ (nothing of yours is touched): the
 * imperative lifecycle, then `up`/`down` of examples/VMFile.kdl. Each step
 * prints the command it runs and its output.
 *
 * To extend it (e.g. the QEMU demo): set BACKEND, provide a real image as
 * `guest.qcow2` in the project dir (see {@link prepareProject}) and add steps;
 * every step is just argv for vmctl, run exactly as the installed program runs.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const BACKEND = "noop";

/** One demo step: a title and the vmctl arguments; `fails` marks an expected refusal. */
interface Step {
  title: string;
  args: string[];
  fails?: boolean;
}

const STEPS: Step[] = [
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

/** Copy examples/ into a temp project dir with a stand-in image (the noop backend boots nothing). */
async function prepareProject(dir: string): Promise<void> {
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
  await Deno.writeFile(join(dir, "guest.qcow2"), new Uint8Array(512));
}

/** The scoped permissions of `deno task vmctl` (never -A). */
async function taskPermissions(): Promise<string[]> {
  const cfg = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return (cfg.tasks.vmctl as string).split(" ").filter((a) =>
    a === "-q" || a.startsWith("--allow-")
  );
}

const bold = (s: string) => (Deno.stdout.isTerminal() ? `\x1b[1m${s}\x1b[0m` : s);

const data = await Deno.makeTempDir({ prefix: "vmctl-demo-data-" });
const project = await Deno.makeTempDir({ prefix: "vmctl-demo-project-" });
let failures = 0;
try {
  await prepareProject(project);
  const perms = await taskPermissions();
  console.log(bold(`vmctl demo: backend ${BACKEND}, XDG_DATA_HOME=${data}, project ${project}\n`));
  for (const step of STEPS) {
    if (step.title) console.log(bold(`# ${step.title}`));
    console.log(`$ vmctl ${step.args.join(" ")}`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...perms, join(ROOT, "main.ts"), ...step.args],
      cwd: project,
      // INIT_CWD: `deno task demo` sets it to the repo; vmctl must see the project dir instead.
      env: { XDG_DATA_HOME: data, VMCTL_BACKEND: BACKEND, INIT_CWD: project },
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    const ok = step.fails ? out.code !== 0 : out.code === 0;
    if (!ok) {
      failures++;
      console.log(`!! unexpected exit code ${out.code}`);
    }
    console.log();
  }
} finally {
  await Deno.remove(data, { recursive: true });
  await Deno.remove(project, { recursive: true });
}
console.log(
  failures ? `demo: ${failures} step(s) went wrong` : "demo: every step behaved as expected",
);
Deno.exit(failures ? 1 : 0);
