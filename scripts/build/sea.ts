/**
 * `deno task build:sea --node PATH [--output PATH] [--build-node PATH]`: a Node single executable
 * application (SEA): vmctl (CommonJS bundle, runtime check first) injected into a copy of the node
 * binary at PATH with postject. The binary may be for another system (an illumos node on Linux):
 * postject edits any ELF file.
 *
 * The preparation blob must come from the same Node version as the binary it goes into. When the
 * target binary runs here, it makes its own blob (with a code cache: same platform). Otherwise
 * the build node (`--build-node`, default `node` on PATH) makes it, and `--node-version` must
 * name the target's version and equal the build node's (docs/distribution.md).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { BuildError, bundleVmctl, DIST, run } from "./bundle.ts";

/** The fuse postject flips so that node runs the injected blob (Node's documented sentinel). */
export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
/** postject, pinned: the injector Node's documentation uses. */
export const POSTJECT = "postject@1.0.0-alpha.6";

export interface SeaOptions {
  /** The node binary to inject into (copied, never changed). */
  node: string;
  output: string;
  /** The node that makes the blob when `node` cannot run here. */
  buildNode: string;
  /** The target's version (X.Y.Z), required when `node` cannot run here. */
  nodeVersion?: string;
}

/** `vX.Y.Z` of a node binary, or undefined when it cannot run on this machine. */
async function versionOf(node: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(node, { args: ["--version"], stdout: "piped" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Which node makes the blob, and whether it may embed a code cache (same platform). */
export async function blobMaker(o: SeaOptions): Promise<{ node: string; codeCache: boolean }> {
  try {
    await Deno.stat(o.node);
  } catch {
    throw new BuildError(`--node ${o.node}: no such file`);
  }
  const target = await versionOf(o.node);
  if (target) return { node: o.node, codeCache: true };
  if (!o.nodeVersion) {
    throw new BuildError(
      `${o.node} does not run on this machine, so its version is unknown: pass --node-version ` +
        `X.Y.Z (the target's) and a --build-node of that same version`,
    );
  }
  const build = await versionOf(o.buildNode);
  if (!build) throw new BuildError(`--build-node ${o.buildNode} does not run`);
  if (build.replace(/^v/, "") !== o.nodeVersion.replace(/^v/, "")) {
    throw new BuildError(
      `the blob must come from the target's Node version: --build-node ${o.buildNode} is ` +
        `${build}, the target is v${o.nodeVersion.replace(/^v/, "")}`,
    );
  }
  return { node: o.buildNode, codeCache: false };
}

/** Build the single executable; returns its path. */
export async function buildSea(o: SeaOptions): Promise<string> {
  const maker = await blobMaker(o);
  const tmp = await Deno.makeTempDir({ prefix: "vmctl-sea-" });
  try {
    const main = join(tmp, "vmctl.cjs");
    const blob = join(tmp, "sea-prep.blob");
    const config = join(tmp, "sea-config.json");
    await Deno.writeTextFile(main, await bundleVmctl("cjs"));
    // Relative names: the script's name shows in stack traces as `vmctl.cjs`, not a temp path.
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        main: "vmctl.cjs",
        output: "sea-prep.blob",
        disableExperimentalSEAWarning: true,
        useCodeCache: maker.codeCache,
      }),
    );
    await run(maker.node, ["--experimental-sea-config", config], "making the SEA blob", {
      cwd: tmp,
    });
    const part = `${o.output}.part`;
    await Deno.copyFile(o.node, part);
    await Deno.chmod(part, 0o755);
    await run("npx", [
      "-y",
      POSTJECT,
      part,
      "NODE_SEA_BLOB",
      blob,
      "--sentinel-fuse",
      SEA_FUSE,
    ], "postject");
    await Deno.rename(part, o.output);
    return o.output;
  } finally {
    await Deno.remove(tmp, { recursive: true });
    await Deno.remove(`${o.output}.part`).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      node: { type: "string" },
      output: { type: "string" },
      "build-node": { type: "string" },
      "node-version": { type: "string" },
    },
  });
  if (!values.node) {
    console.error(
      "build:sea: --node PATH_TO_TARGET_NODE_BINARY is required (e.g. the node of the " +
        "illumos host's ooce/runtime/node-22 package)",
    );
    Deno.exit(2);
  }
  try {
    await Deno.mkdir(DIST, { recursive: true });
    const out = await buildSea({
      node: values.node,
      output: values.output ?? join(DIST, "vmctl-sea"),
      buildNode: values["build-node"] ?? "node",
      nodeVersion: values["node-version"],
    });
    console.log(`${out} (${(await Deno.stat(out)).size} bytes)`);
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    console.error(`build:sea: ${err.message}`);
    Deno.exit(1);
  }
}
