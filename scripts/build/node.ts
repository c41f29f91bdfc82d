/**
 * `deno task build:node`: dist/vmctl.mjs, vmctl as one self-contained ES module for Node.js 20
 * and 22 (and `deno run`): npm packages inlined, only `node:*` built-ins imported, the runtime
 * version check first. Executable, with a `#!/usr/bin/env node` line; a `zmgr` symlink to it
 * runs the zone commands (docs/distribution.md).
 *
 * @module
 */
import { join } from "node:path";
import { BuildError, bundleVmctl, DIST } from "./bundle.ts";

/** Build dist/vmctl.mjs; returns its path. */
export async function buildNode(): Promise<string> {
  const code = await bundleVmctl("esm");
  await Deno.mkdir(DIST, { recursive: true });
  const out = join(DIST, "vmctl.mjs");
  await Deno.writeTextFile(out, `#!/usr/bin/env node\n${code}`, { mode: 0o755 });
  await Deno.chmod(out, 0o755);
  return out;
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
