/**
 * Runs the real vmctl as a child process for CLI tests, with an isolated data
 * dir (XDG_DATA_HOME) and the noop backend unless told otherwise. Which build
 * runs (main.ts, dist/vmctl.mjs on Node, a single executable) is chosen by
 * VMCTL_TEST_RUNTIME (runtime.ts).
 *
 * @module
 */
import { join } from "node:path";
import { vmctlCommand } from "./runtime.ts";

export { MAIN, ROOT } from "./runtime.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment (merged over the isolated defaults). */
  env?: Record<string, string>;
  cwd?: string;
  /** Deno permission flags (default --allow-all); ignored by the Node runtimes (runtime.ts). */
  perms?: string[];
  stdin?: string;
}

/** A fresh temp dir used as XDG_DATA_HOME; remove it with `Deno.remove(dir, {recursive: true})`. */
export async function tempHome(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "vmctl-test-" });
}

/** Run `vmctl ARGS` with XDG_DATA_HOME=`home` and VMCTL_BACKEND=noop. */
export async function vmctl(home: string, args: string[], o: CliOptions = {}): Promise<CliResult> {
  const out = vmctlCommand(args, {
    perms: o.perms,
    cwd: o.cwd ?? home,
    env: {
      // Under `deno task test` INIT_CWD names the repo; vmctl would resolve paths against it.
      INIT_CWD: o.cwd ?? home,
      XDG_DATA_HOME: home,
      VMCTL_BACKEND: "noop",
      NO_COLOR: "1",
      VMCTL_LOG: "info",
      ...o.env,
    },
    stdin: o.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (o.stdin !== undefined) {
    const w = out.stdin.getWriter();
    await w.write(new TextEncoder().encode(o.stdin));
    await w.close();
  }
  const r = await out.output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** Start `vmctl ARGS` in the background (to interrupt it), stdout and stderr piped. */
export function spawnVmctl(
  home: string,
  args: string[],
  env: Record<string, string> = {},
): Deno.ChildProcess {
  return vmctlCommand(args, {
    env: { XDG_DATA_HOME: home, NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Like {@link vmctl} but fails the test unless the command exits 0. */
export async function vmctlOk(home: string, args: string[], o: CliOptions = {}): Promise<string> {
  const r = await vmctl(home, args, o);
  if (r.code !== 0) {
    throw new Error(`vmctl ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** An empty file usable as a local `--image` (the noop backend boots nothing). */
export async function fakeImage(dir: string, name = "disk.qcow2"): Promise<string> {
  const p = join(dir, name);
  await Deno.writeFile(p, new Uint8Array(512));
  return p;
}

/** Every file under `dir` with its bytes and mode, for byte-identical comparisons. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      const st = await Deno.lstat(p);
      const mode = (st.mode ?? 0).toString(8);
      if (e.isDirectory) {
        out[p + "/"] = mode;
        await walk(p);
      } else out[p] = `${mode} ${new TextDecoder().decode(await Deno.readFile(p))}`;
    }
  }
  await walk(dir);
  return out;
}
