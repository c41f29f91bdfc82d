/**
 * Shared setup for the zone CLI tests: a fake illumos host (fixtures/illumos)
 * on PATH, a temporary registry (--root), and a runner for
 * `vmctl zone ...` as a real child process (main.ts, or the build VMCTL_TEST_RUNTIME names).
 *
 * @module
 */
import { join } from "node:path";
import { vmctlCommand } from "../helpers/runtime.ts";
import { createFakeIllumos, type FakeIllumos } from "../../fixtures/illumos/mod.ts";

/** `init` flags of the pool every zone test host starts with (10.0.0.0/24 over igb0). */
export const DEFAULT_POOL_ARGS = [
  "--pool",
  "default",
  "--network",
  "10.0.0.0/24",
  "--gateway",
  "10.0.0.1",
  "--stub",
  "igb0",
];

export { MAIN, ROOT as REPO } from "../helpers/runtime.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ZoneTestEnv {
  fake: FakeIllumos;
  root: string;
  /** The environment zone() runs the CLI with (the fake host on PATH), without --root. */
  env: Record<string, string>;
  /** Run `main.ts zone ARGS --root ROOT` with the fake's environment (plus `extra`). */
  zone(args: string[], extra?: Record<string, string>): Promise<CliResult>;
  /** Like zone() but fails the test on a non-zero exit. */
  ok(args: string[], extra?: Record<string, string>): Promise<string>;
  cleanup(): Promise<void>;
}

/** A fake host plus an initialised registry with pool `default` (10.0.0.0/24 over igb0). */
export async function zoneTestEnv(
  opts: { flavor?: "illumos" | "omnios"; init?: boolean } = {},
): Promise<ZoneTestEnv> {
  const fake = await createFakeIllumos({ flavor: opts.flavor });
  const root = await Deno.makeTempDir({ prefix: "zmgr-reg-" });
  const env = {
    ...fake.env,
    HOME: Deno.env.get("HOME") ?? "/root",
    NO_COLOR: "1",
    ZMGR_ALTROOT: join(fake.stateDir, "fs"),
  };
  const zone = async (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => {
    const out = await vmctlCommand(["zone", ...args, "--root", root], {
      env: { ...env, ...extra },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const ok = async (args: string[], extra?: Record<string, string>) => {
    const r = await zone(args, extra);
    if (r.code !== 0) {
      throw new Error(`zone ${args.join(" ")} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
    }
    return r.stdout;
  };
  if (opts.init !== false) {
    await ok(["init", ...DEFAULT_POOL_ARGS, "--dns", "10.0.0.53"]);
  }
  return {
    fake,
    root,
    env,
    zone,
    ok,
    async cleanup() {
      await fake.cleanup();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** Names of the registry's zone entries. */
export async function registeredZones(root: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(join(root, "zones"))) {
      if (e.name.endsWith(".kdl")) names.push(e.name.slice(0, -4));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}

/** `zone pool create NAME --network NETWORK --gateway GATEWAY EXTRA...`, failing the test on error. */
export async function createPool(
  t: ZoneTestEnv,
  name: string,
  network: string,
  gateway: string,
  ...extra: string[]
): Promise<CliResult> {
  const args = ["pool", "create", name, "--network", network, "--gateway", gateway, ...extra];
  const r = await t.zone(args);
  if (r.code !== 0) throw new Error(`zone ${args.join(" ")} exited ${r.code}\n${r.stderr}`);
  return r;
}
