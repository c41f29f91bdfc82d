/**
 * The built artefacts themselves (docs/distribution.md): dist/vmctl.mjs on Node, its zmgr symlink,
 * Node's permission model, old runtimes, and the `deno compile` binary where a denort exists. The
 * CLI suites run against each artefact through VMCTL_TEST_RUNTIME (scripts/test_node.sh).
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { buildNode } from "../../scripts/build/node.ts";
import { foreignImports } from "../../scripts/build/bundle.ts";
import { compileTarget } from "../../scripts/build/compile.ts";
import { zoneTestEnv } from "./zone_harness.ts";

const dec = new TextDecoder();

/** The node the Node tests use: VMCTL_TEST_NODE, else `node` on PATH. */
const NODE = Deno.env.get("VMCTL_TEST_NODE") ?? "node";

/** One build of dist/vmctl.mjs (and vmctl-node) into a temp dir, shared by this file's tests. */
let built: Promise<string> | undefined;
function artefact(): Promise<string> {
  built ??= Deno.makeTempDir({ prefix: "vmctl-artefact-" }).then((dir) => {
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return buildNode(dir);
  });
  return built;
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `node -v` of a pinned major from npm (`npx -y node@MAJOR`): the path of its binary. */
async function pinnedNode(major: number): Promise<string> {
  const r = await run("npx", ["-y", `node@${major}`, "-p", "process.execPath"]);
  assertEquals(r.code, 0, r.stderr);
  return r.stdout.trim();
}

Deno.test("dist/vmctl.mjs imports only node: built-ins and starts with the runtime check", async () => {
  const code = await Deno.readTextFile(await artefact());
  assertEquals(foreignImports(code), []);
  const lines = code.split("\n");
  assertEquals(lines[0], "#!/usr/bin/env node");
  assertMatch(lines.slice(1, 5).join("\n"), /The first statement of every vmctl artefact/);
});

Deno.test("on Node 18 dist/vmctl.mjs says it needs Node 20 and exits 2", async () => {
  const r = await run(await pinnedNode(18), [await artefact(), "list"]);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /^vmctl needs Node\.js 20 or later \(this is Node\.js 18\.\d+\.\d+\)\n$/);
  assertEquals(r.stdout, "");
});

Deno.test("a zmgr symlink to dist/vmctl.mjs runs the zone commands at the top level on Node", async () => {
  const t = await zoneTestEnv();
  try {
    const script = await artefact();
    const zmgr = join(script, "..", "zmgr");
    await Deno.symlink("vmctl.mjs", zmgr).catch(() => {});
    const help = await run(NODE, [zmgr, "--help"], t.env);
    assertMatch(help.stdout, /^Usage: zmgr /);
    const list = await run(NODE, [zmgr, "list", "--root", t.root], t.env);
    assertEquals(list.code, 0, list.stderr);
  } finally {
    await t.cleanup();
  }
});

/** Node's switch for its permission model on `node` (Node 20 spells it --experimental-permission). */
async function permissionSwitch(node: string): Promise<string> {
  const v = (await run(node, ["--version"])).stdout.trim();
  return /^v(20|21|22\.([0-9]|1[0-2]))\./.test(v) ? "--experimental-permission" : "--permission";
}

Deno.test("under Node's permission model the vmctl-node launcher's scoped set creates a zone", async () => {
  const t = await zoneTestEnv();
  try {
    const launcher = join(await artefact(), "..", "vmctl-node");
    const env = { ...t.env, VMCTL_NODE: NODE };
    const r = await run(launcher, ["zone", "create", "w1", "--no-boot", "--root", t.root], env);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stderr.includes("Warning"), false, r.stderr);
    const list = await run(launcher, ["zone", "list", "--root", t.root], env);
    assertMatch(list.stdout, /^w1\s/m);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a withheld Node permission is vmctl::permission::denied naming the flag", async () => {
  const t = await zoneTestEnv();
  try {
    const script = await artefact();
    const model = await permissionSwitch(NODE);
    const noChild = await run(
      NODE,
      [model, "--allow-fs-read=*", "--allow-fs-write=*", script, "zone", "list", "--root", t.root],
      t.env,
    );
    assertEquals(noChild.code, 1, noChild.stderr);
    assertStringIncludes(noChild.stderr, "vmctl::permission::denied");
    assertStringIncludes(noChild.stderr, "--allow-child-process");
    const noWrite = await run(
      NODE,
      [model, "--allow-fs-read=*", "--allow-child-process", script, "zone", "create", "w1"],
      { ...t.env, ZMGR_ROOT: t.root },
    );
    assertEquals(noWrite.code, 1, noWrite.stderr);
    assertStringIncludes(noWrite.stderr, "vmctl::permission::denied");
    assertStringIncludes(noWrite.stderr, "--allow-fs-write");
  } finally {
    await t.cleanup();
  }
});

/** A denort to compile with: DENORT_BIN, or none (this machine cannot download one). */
const DENORT = Deno.env.get("DENORT_BIN");
const hostTarget = Deno.build.arch === "aarch64"
  ? "aarch64-unknown-linux-gnu"
  : "x86_64-unknown-linux-gnu";

Deno.test({
  name: DENORT
    ? "a compiled vmctl lists VMs and, symlinked as zmgr, runs the zone commands"
    : "a compiled vmctl lists VMs and, symlinked as zmgr, runs the zone commands (skipped: no denort; set DENORT_BIN)",
  ignore: !DENORT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "vmctl-compiled-" });
    const t = await zoneTestEnv();
    try {
      const exe = await compileTarget(hostTarget, dir);
      const list = await run(exe, ["list"], { XDG_DATA_HOME: dir, VMCTL_BACKEND: "noop" });
      assertEquals(list.code, 0, list.stderr);
      assertStringIncludes(list.stdout, "No VMs.");
      await Deno.symlink(exe, join(dir, "zmgr"));
      const zones = await run(join(dir, "zmgr"), ["list", "--root", t.root], t.env);
      assertEquals(zones.code, 0, zones.stderr);
      const help = await run(join(dir, "zmgr"), ["--help"], t.env);
      assert(help.stdout.startsWith("Usage: zmgr "), help.stdout);
    } finally {
      await t.cleanup();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
