/**
 * The scoped permission set of vmctl, in one place: the `--allow-*` flags of the `vmctl` task in
 * deno.json. `deno task compile` bakes them into the binaries, the start-up benchmark runs with
 * them, and the Node launcher (dist/vmctl) gets their Node permission-model equivalents.
 *
 * @module
 */
import { join } from "node:path";
import { ROOT } from "./bundle.ts";

/** The `--allow-*` flags of a `deno run ...` task line. */
export function permissionFlags(task: string): string[] {
  return task.split(/\s+/).filter((a) => a.startsWith("--allow-"));
}

/** The `--allow-*` flags of deno.json's `vmctl` task. */
export async function vmctlPermissionFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));
  return permissionFlags(config.tasks.vmctl as string);
}

/**
 * Node's permission-model flags for a set of Deno flags (without the flag that turns the model on,
 * which depends on the Node version). Node scopes files and child processes only: a Deno file
 * permission keeps its paths, any `--allow-run` becomes `--allow-child-process` (Node cannot name
 * programs), and network, environment and system-information permissions have no Node
 * counterpart (always allowed there).
 */
export function nodePermissionFlags(denoFlags: string[]): string[] {
  const out: string[] = [];
  for (const flag of denoFlags) {
    const [name, value] = flag.split(/=(.*)/s, 2);
    const paths = value === undefined ? ["*"] : value.split(",");
    if (name === "--allow-read") out.push(...paths.map((p) => `--allow-fs-read=${p}`));
    else if (name === "--allow-write") out.push(...paths.map((p) => `--allow-fs-write=${p}`));
    else if (name === "--allow-run" && !out.includes("--allow-child-process")) {
      out.push("--allow-child-process");
    }
  }
  return out;
}
