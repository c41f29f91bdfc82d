/**
 * `deno task build:node`: dist/vmctl.mjs, vmctl as one self-contained ES module for Node.js 20
 * and 22 (and `deno run`): npm packages inlined, only `node:*` built-ins imported, the runtime
 * version check first. Executable, with a `#!/usr/bin/env node` line; a `zmgr` symlink to it
 * runs the zone commands. Next to it, dist/vmctl-node: a launcher that runs it under Node's
 * permission model with vmctl's scoped set (docs/distribution.md).
 *
 * @module
 */
import { join } from "node:path";
import { BuildError, bundleVmctl, DIST } from "./bundle.ts";
import { nodePermissionFlags, vmctlPermissionFlags } from "./permissions.ts";

/** Build `dir`/vmctl.mjs and `dir`/vmctl-node; returns the path of vmctl.mjs. */
export async function buildNode(dir = DIST): Promise<string> {
  const code = await bundleVmctl("esm");
  await Deno.mkdir(dir, { recursive: true });
  const out = join(dir, "vmctl.mjs");
  await writeExecutable(out, `#!/usr/bin/env node\n${code}`);
  const flags = nodePermissionFlags(await vmctlPermissionFlags());
  await writeExecutable(join(dir, "vmctl-node"), nodeLauncher(flags));
  return out;
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
}

/**
 * A POSIX sh launcher: runs vmctl.mjs (found next to the launcher's real path) with Node's
 * permission model on and `flags` granted. Node 20 to 22.12 spell the switch
 * `--experimental-permission`. Run as `zmgr` (a symlink), it passes `zone` first, as every
 * launcher does (docs/zones.md). VMCTL_NODE names the node binary (default: node on PATH; Node 20.11
 * or later, for --disable-warning).
 */
export function nodeLauncher(flags: string[]): string {
  return `#!/bin/sh
# vmctl on Node.js under the permission model, scoped to what vmctl uses (docs/distribution.md).
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in
  /*) self=$link ;;
  *) self=$(dirname "$self")/$link ;;
  esac
done
node=\${VMCTL_NODE:-node}
case $("$node" --version) in
v20.* | v21.* | v22.[0-9].* | v22.1[0-2].*) model=--experimental-permission ;;
*) model=--permission ;;
esac
case $(basename "$0") in
zmgr) set -- zone "$@" ;;
esac
# The model's start-up notices (experimental; child processes allowed) are expected, not news.
quiet="--disable-warning=ExperimentalWarning --disable-warning=SecurityWarning"
exec "$node" "$model" $quiet ${
    flags.map((f) => `'${f}'`).join(" ")
  } "$(dirname "$self")/vmctl.mjs" "$@"
`;
}

if (import.meta.main) {
  try {
    const out = await buildNode();
    console.log(`${out} (${(await Deno.stat(out)).size} bytes)`);
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(`build:node: ${err.message}`);
    Deno.exit(1);
  }
}
