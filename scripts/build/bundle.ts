/**
 * One bundle of vmctl for the Node artefacts: `deno bundle` of scripts/build/entry.ts with npm
 * packages inlined and only the runtime's built-ins (`node:*`) left as imports, preceded by the
 * runtime version check (runtime_check.js).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DIST = join(ROOT, "dist");

/** `esm` for dist/vmctl.mjs; `cjs` for the Node single executable (its main script is CommonJS). */
export type BundleFormat = "esm" | "cjs";

/** A build step failed; the message says which and why. */
export class BuildError extends Error {}

/** Run a command to completion, throwing a BuildError with its stderr when it fails. */
export async function run(
  cmd: string,
  args: string[],
  what: string,
  o: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, ...o, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new BuildError(`${what}: cannot run ${cmd}: ${(err as Error).message}`);
  }
  const dec = new TextDecoder();
  if (!out.success) {
    throw new BuildError(`${what} failed (${cmd} exited ${out.code}):\n${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

/** Import specifiers in `code` that are not runtime built-ins (the bundle must have none). */
export function foreignImports(code: string): string[] {
  const specs = [
    ...code.matchAll(/^\s*(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']/gm),
    ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
    ...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g),
  ].map((m) => m[1]);
  return [...new Set(specs.filter((s) => !s.startsWith("node:")))].sort();
}

/** The runtime version check that starts every artefact. */
export async function runtimeCheck(): Promise<string> {
  const text = await Deno.readTextFile(join(ROOT, "scripts", "build", "runtime_check.js"));
  return text.replace(/^\/\/ deno-lint-ignore-file.*\n/, "");
}

/**
 * Bundle vmctl as one `format` file and return its text, prefixed with the runtime check; fails
 * when anything but a `node:` built-in is left to import.
 */
export async function bundleVmctl(format: BundleFormat): Promise<string> {
  const tmp = await Deno.makeTempDir({ prefix: "vmctl-bundle-" });
  try {
    const out = join(tmp, `vmctl.${format === "esm" ? "mjs" : "cjs"}`);
    await run(Deno.execPath(), [
      "bundle",
      "--quiet",
      "--platform",
      "deno",
      "--format",
      format,
      "--config",
      join(ROOT, "deno.json"),
      "-o",
      out,
      join(ROOT, "scripts", "build", "entry.ts"),
    ], "deno bundle");
    const code = await Deno.readTextFile(out);
    const foreign = foreignImports(code);
    if (foreign.length) {
      throw new BuildError(`the bundle still imports ${foreign.join(", ")}: not self-contained`);
    }
    return `${await runtimeCheck()}\n${code}`;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
