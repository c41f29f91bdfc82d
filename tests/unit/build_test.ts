/** The pure parts of the artefact builds (scripts/build/): nothing is bundled or compiled here. */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { foreignImports, runtimeCheck } from "../../scripts/build/bundle.ts";
import { nodePermissionFlags, permissionFlags } from "../../scripts/build/permissions.ts";
import {
  compileFailure,
  denortTarget,
  TARGETS,
  targetsToBuild,
} from "../../scripts/build/compile.ts";
import { blobMaker } from "../../scripts/build/sea.ts";
import { BuildError } from "../../scripts/build/bundle.ts";

async function rejects(p: Promise<unknown>, part: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert(err instanceof BuildError, String(err));
    assertStringIncludes(err.message, part);
    return;
  }
  throw new Error(`expected a BuildError with ${part}`);
}

Deno.test("a bundle's imports other than node: built-ins are found, static and dynamic", () => {
  const code = [
    `import fs from "node:fs";`,
    `import { parse } from "npm:@bgotink/kdl";`,
    `export { x } from "./left.js";`,
    `import "side-effect";`,
    `const m = await import("./lazy.js");`,
    `const z = require("node:zlib"); const y = require("yaml");`,
  ].join("\n");
  assertEquals(foreignImports(code), [
    "./lazy.js",
    "./left.js",
    "npm:@bgotink/kdl",
    "side-effect",
    "yaml",
  ]);
});

/** Run runtime_check.js with `Deno` or `process` as given; the exit code and stderr it produced. */
async function checkUnder(globals: { deno?: string; node?: string }) {
  const errors: string[] = [];
  let exitCode: number | undefined;
  const exit = (code: number) => {
    exitCode = code;
  };
  const deno = globals.deno === undefined ? undefined : { version: { deno: globals.deno }, exit };
  const process = globals.node === undefined
    ? undefined
    : { versions: { node: globals.node }, exit };
  const console = { error: (s: string) => errors.push(s) };
  new Function("Deno", "process", "console", await runtimeCheck())(deno, process, console);
  return { exitCode, stderr: errors.join("\n") };
}

Deno.test("the runtime check stops Node before 20 and Deno before 2 with exit 2 and what is needed", async () => {
  assertEquals(await checkUnder({ node: "18.20.8" }), {
    exitCode: 2,
    stderr: "vmctl needs Node.js 20 or later (this is Node.js 18.20.8)",
  });
  assertEquals(await checkUnder({ deno: "1.46.3" }), {
    exitCode: 2,
    stderr: "vmctl needs Deno 2 or later (this is Deno 1.46.3)",
  });
});

Deno.test("the runtime check lets Node 20 and 22 and Deno 2 through silently", async () => {
  for (const globals of [{ node: "20.0.0" }, { node: "22.12.0" }, { deno: "2.0.0" }]) {
    assertEquals(await checkUnder(globals), { exitCode: undefined, stderr: "" });
  }
});

Deno.test("the runtime check is ES5: no arrow, let, const, class or template literal", async () => {
  const code = (await runtimeCheck()).replace(/\/\/.*$/gm, "");
  assertEquals(code.match(/=>|\blet\b|\bconst\b|\bclass\b|`/g), null);
});

Deno.test("the scoped permissions are the --allow-* flags of a task line", () => {
  assertEquals(
    permissionFlags("deno run -q --allow-read --allow-run=qemu-img,ssh main.ts"),
    ["--allow-read", "--allow-run=qemu-img,ssh"],
  );
});

Deno.test("Deno permissions map to Node's: files keep their paths, run is child processes", () => {
  assertEquals(
    nodePermissionFlags([
      "--allow-read",
      "--allow-write=/var/lib/vmctl,/tmp",
      "--allow-net",
      "--allow-env",
      "--allow-sys=hostname",
      "--allow-run=qemu-img,ssh",
    ]),
    [
      "--allow-fs-read=*",
      "--allow-fs-write=/var/lib/vmctl",
      "--allow-fs-write=/tmp",
      "--allow-child-process",
    ],
  );
});

/** A file starting with an ELF header for machine `machine` (e_machine, little endian). */
async function elfFile(machine: number): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "vmctl-elf-" });
  const head = new Uint8Array(64);
  head.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  head[18] = machine & 0xff;
  head[19] = machine >> 8;
  await Deno.writeFile(path, head);
  return path;
}

Deno.test("a DENORT_BIN builds only the target of its own architecture", async () => {
  const arm = await elfFile(0xb7);
  try {
    assertEquals(await denortTarget(arm), "aarch64-unknown-linux-gnu");
    assertEquals(await targetsToBuild(undefined, arm), ["aarch64-unknown-linux-gnu"]);
    await rejects(targetsToBuild("x86_64-unknown-linux-gnu", arm), "cannot build x86_64");
    assertEquals(await targetsToBuild(undefined, undefined), [...TARGETS]);
    await rejects(targetsToBuild("riscv64", undefined), "unknown --target riscv64");
  } finally {
    await Deno.remove(arm);
  }
});

Deno.test("a DENORT_BIN that is missing or not a Linux executable is named", async () => {
  await rejects(denortTarget("/nonexistent/denort"), "DENORT_BIN=/nonexistent/denort");
  const text = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(text, "#!/bin/sh\n");
    await rejects(denortTarget(text), "is not a Linux x86_64 or aarch64 executable");
  } finally {
    await Deno.remove(text);
  }
});

Deno.test("a failed denort download says what is missing and how to supply it", () => {
  const stderr = [
    "error: Writing deno compile executable to temporary file 'x'",
    "",
    "Caused by:",
    "    0: Setting up base binary.",
    "    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x.zip)",
    "    2: dns error",
  ].join("\n");
  const msg = compileFailure("x86_64-unknown-linux-gnu", stderr);
  assertStringIncludes(msg, "needs the denort runtime");
  assertStringIncludes(msg, "error sending request for url");
  assertStringIncludes(msg, "DENORT_BIN is not set; set DENORT_BIN");
  const other = compileFailure("x86_64-unknown-linux-gnu", "error: Module not found main.ts");
  assertStringIncludes(other, "Module not found");
});

Deno.test("build:sea refuses a target node it can neither run nor match by version", async () => {
  const foreign = await elfFile(0x3e);
  try {
    await Deno.chmod(foreign, 0o755);
    const base = { node: foreign, output: "unused", buildNode: "node" };
    await rejects(blobMaker(base), "pass --node-version");
    await rejects(blobMaker({ ...base, nodeVersion: "0.1.2" }), "the target is v0.1.2");
    await rejects(blobMaker({ ...base, node: "/nonexistent/node" }), "no such file");
  } finally {
    await Deno.remove(foreign);
  }
});
