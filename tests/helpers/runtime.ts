/**
 * Which build of vmctl the CLI-level tests run, chosen by the environment so that the same test
 * files, with the same expected outputs, check every artefact (docs/distribution.md):
 *
 * - `VMCTL_TEST_RUNTIME` unset or `deno`: `deno run main.ts` (the source).
 * - `deno-bundle`: `deno run dist/vmctl.mjs`.
 * - `node`: `NODE dist/vmctl.mjs`, NODE from `VMCTL_TEST_NODE` (default `node` on PATH).
 * - `exe:PATH`: a single executable (the Node SEA, or a `deno compile` binary) run directly, with
 *   a PATH whose `node` and `deno` refuse to run, so a test proves it needs neither.
 *
 * The dist/vmctl.mjs used is `VMCTL_TEST_SCRIPT` when set. Deno permission flags passed by a test
 * apply to the Deno runtimes only; a test that checks Deno's permissions is Deno-only
 * ({@link DENO_ONLY}).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** main.ts of this checkout. */
export const MAIN = join(ROOT, "main.ts");

export type TestRuntime =
  | { kind: "deno" }
  | { kind: "deno-bundle"; script: string }
  | { kind: "node"; node: string; script: string }
  | { kind: "exe"; binary: string };

/** Parse the runtime choice; throws on a value it does not know (a typo must not test Deno). */
export function parseTestRuntime(env: (name: string) => string | undefined): TestRuntime {
  const value = env("VMCTL_TEST_RUNTIME") ?? "deno";
  const script = env("VMCTL_TEST_SCRIPT") ?? join(ROOT, "dist", "vmctl.mjs");
  if (value === "deno") return { kind: "deno" };
  if (value === "deno-bundle") return { kind: "deno-bundle", script };
  if (value === "node") return { kind: "node", node: env("VMCTL_TEST_NODE") ?? "node", script };
  if (value.startsWith("exe:") && value.length > 4) return { kind: "exe", binary: value.slice(4) };
  throw new Error(
    `VMCTL_TEST_RUNTIME=${value}: expected deno, deno-bundle, node or exe:PATH_TO_BINARY`,
  );
}

/** The runtime of this test run. */
export const TEST_RUNTIME: TestRuntime = parseTestRuntime((name) => Deno.env.get(name));

/**
 * Whether the vmctl under test has a WebSocket client (`vmctl console` on
 * Propolis needs one): Deno always; a Node build when its Node has the global
 * (22 and later; a single executable is built with VMCTL_TEST_NODE's Node).
 */
export async function runtimeHasWebSocket(): Promise<boolean> {
  if (TEST_RUNTIME.kind === "deno" || TEST_RUNTIME.kind === "deno-bundle") return true;
  const node = TEST_RUNTIME.kind === "node"
    ? TEST_RUNTIME.node
    : Deno.env.get("VMCTL_TEST_NODE") ?? "node";
  const out = await new Deno.Command(node, {
    args: ["-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"],
  }).output();
  return out.success;
}

/** True unless the tests run vmctl under `deno run main.ts`: mark Deno-only tests `ignore: DENO_ONLY`. */
export const DENO_ONLY = TEST_RUNTIME.kind !== "deno";

/**
 * The command line that runs `vmctl ARGS`: `perms` are Deno permission flags (default --allow-all),
 * used by the Deno runtimes only.
 */
export function vmctlArgv(args: string[], perms: string[] = ["--allow-all"]): string[] {
  const rt = TEST_RUNTIME;
  switch (rt.kind) {
    case "deno":
      return [Deno.execPath(), "run", ...perms, MAIN, ...args];
    case "deno-bundle":
      return [Deno.execPath(), "run", ...perms, rt.script, ...args];
    case "node":
      return [rt.node, rt.script, ...args];
    case "exe":
      return [rt.binary, ...args];
  }
}

/** A directory whose `node` and `deno` fail loudly: put first on PATH for a single executable. */
let poisonDir: string | undefined;
function runtimeRefusingDir(): string {
  if (poisonDir) return poisonDir;
  poisonDir = Deno.makeTempDirSync({ prefix: "vmctl-no-runtime-" });
  for (const name of ["node", "deno"]) {
    Deno.writeTextFileSync(
      join(poisonDir, name),
      `#!/bin/sh\necho "${name} was run by a single executable test: it must need no runtime" >&2\nexit 127\n`,
      { mode: 0o755 },
    );
  }
  return poisonDir;
}

/** `env` for the vmctl child: under `exe:`, PATH starts with a `node`/`deno` that refuse to run. */
export function vmctlEnv(env: Record<string, string>): Record<string, string> {
  if (TEST_RUNTIME.kind !== "exe") return env;
  const path = env.PATH ?? Deno.env.get("PATH") ?? "/usr/bin:/bin";
  return { ...env, PATH: `${runtimeRefusingDir()}:${path}` };
}

/** `new Deno.Command` for `vmctl ARGS` under the test runtime; env goes through {@link vmctlEnv}. */
export function vmctlCommand(
  args: string[],
  options: Deno.CommandOptions & { perms?: string[] } = {},
): Deno.Command {
  const { perms, env, ...rest } = options;
  const [cmd, ...argv] = vmctlArgv(args, perms);
  return new Deno.Command(cmd, {
    ...rest,
    args: argv,
    env: env ? vmctlEnv(env) : TEST_RUNTIME.kind === "exe" ? vmctlEnv({}) : undefined,
  });
}
