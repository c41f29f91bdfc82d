/**
 * `deno task compile [--target TARGET]`: dist/vmctl-TARGET, `deno compile` of main.ts for
 * x86_64 and aarch64 Linux with vmctl's scoped permissions baked in (scripts/build/permissions.ts)
 * and every module embedded. A `zmgr` symlink to a binary runs the zone commands.
 *
 * `deno compile` needs a `denort` of this Deno's version for each target: it downloads it, or
 * takes the file named by DENORT_BIN. A DENORT_BIN serves the target of its own architecture only,
 * so with DENORT_BIN set only that target is built. When neither works, this says what is missing.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { BuildError, DIST, ROOT, run } from "./bundle.ts";
import { vmctlPermissionFlags } from "./permissions.ts";

export const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] as const;
export type Target = typeof TARGETS[number];

/** ELF e_machine values of the targets. */
const MACHINES: Record<number, Target> = {
  0x3e: "x86_64-unknown-linux-gnu",
  0xb7: "aarch64-unknown-linux-gnu",
};

/** The target a denort binary is for, from its ELF header; throws when it is not one of ours. */
export async function denortTarget(path: string): Promise<Target> {
  let head: Uint8Array;
  try {
    head = (await Deno.readFile(path)).subarray(0, 20);
  } catch (err) {
    throw new BuildError(`DENORT_BIN=${path}: cannot read it: ${(err as Error).message}`);
  }
  const elf = head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
  const target = elf ? MACHINES[head[18] | (head[19] << 8)] : undefined;
  if (!target) {
    throw new BuildError(`DENORT_BIN=${path} is not a Linux x86_64 or aarch64 executable`);
  }
  return target;
}

/** The targets to build: `wanted` (or all), narrowed to DENORT_BIN's architecture when set. */
export async function targetsToBuild(wanted: string | undefined, denort?: string) {
  if (wanted !== undefined && !(TARGETS as readonly string[]).includes(wanted)) {
    throw new BuildError(`unknown --target ${wanted}; one of ${TARGETS.join(", ")}`);
  }
  if (!denort) return wanted ? [wanted as Target] : [...TARGETS];
  const own = await denortTarget(denort);
  if (wanted && wanted !== own) {
    throw new BuildError(`DENORT_BIN=${denort} is a ${own} runtime; it cannot build ${wanted}`);
  }
  return [own];
}

/** Why `deno compile` failed, in the user's terms when the runtime was missing. */
export function compileFailure(target: Target, stderr: string, denort?: string): string {
  const missing = /Setting up base binary|Could not find denort|denort/i.test(stderr);
  if (!missing) return `deno compile for ${target} failed:\n${stderr}`;
  // deno lists the causes as "  1: ..."; the one naming the download or the file says it all.
  const causes = stderr.split("\n").filter((l) => /^\s*\d+: /.test(l));
  const cause = (causes.find((l) => /denort/.test(l)) ?? causes.at(-1) ?? "")
    .replace(/^\s*\d+: /, "");
  return denort
    ? `deno compile for ${target}: the denort at DENORT_BIN=${denort} did not work (${cause})`
    : `deno compile for ${target} needs the denort runtime of Deno ${Deno.version.deno}: ` +
      `downloading it failed (${cause}) and DENORT_BIN is not set; set DENORT_BIN to a denort ` +
      `binary (denort-${target}.zip of the Deno ${Deno.version.deno} release)`;
}

/** Compile one target into `dir`; returns the binary's path. */
export async function compileTarget(target: Target, dir = DIST): Promise<string> {
  const out = join(dir, `vmctl-${target}`);
  const args = [
    "compile",
    "--quiet",
    "--config",
    join(ROOT, "deno.json"),
    "--target",
    target,
    "--output",
    out,
    ...await vmctlPermissionFlags(),
    join(ROOT, "main.ts"),
  ];
  try {
    await run(Deno.execPath(), args, "deno compile", { env: { NO_COLOR: "1" } });
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    throw new BuildError(compileFailure(target, err.message, Deno.env.get("DENORT_BIN")));
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { target: { type: "string" } } });
  try {
    await Deno.mkdir(DIST, { recursive: true });
    for (const target of await targetsToBuild(values.target, Deno.env.get("DENORT_BIN"))) {
      const out = await compileTarget(target);
      console.log(`${out} (${(await Deno.stat(out)).size} bytes)`);
    }
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(`compile: ${err.message}`);
    Deno.exit(1);
  }
}
