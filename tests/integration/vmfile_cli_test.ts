/**
 * `vmctl validate` end to end: a real `vmctl validate` child (runtime.ts) with
 * its own HOME (so `~` paths are tested without touching this process's
 * environment), exit codes 0/1 and the JSON documents.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { touch, withTempDir } from "../unit/vmfile_helpers.ts";
import { vmctlCommand } from "../helpers/runtime.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const BOOK = join(ROOT, "fixtures/vmfiles/book");

async function validate(
  args: string[],
  opts: { cwd: string; home: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await vmctlCommand(["validate", ...args], {
    cwd: opts.cwd,
    env: { HOME: opts.home, INIT_CWD: opts.cwd, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("validate --json prints the VMs of a valid file and exits 0, ~ expanded", async () => {
  await withTempDir(async (dir) => {
    const home = join(dir, "home");
    await touch(dir, "config/bashrc", "scripts/setup-dev-tools.sh");
    await touch(
      home,
      "images/debian-12-generic-amd64.qcow2",
      ".ssh/id_ed25519",
      ".ssh/id_ed25519.pub",
    );
    const file = join(dir, "VMFile.kdl");
    await Deno.copyFile(join(BOOK, "full-example.kdl"), file);
    const r = await validate(["--file", file, "--json"], { cwd: dir, home });
    assertEquals(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assertEquals(doc.file, file);
    assertEquals(doc.vms.map((v: { name: string }) => v.name), [
      "full-example",
      "tap-example",
      "minimal",
    ]);
    const tap = doc.vms[1];
    assertEquals(tap.image, {
      kind: "path",
      path: join(home, "images/debian-12-generic-amd64.qcow2"),
    });
    assertEquals(tap.cloudInit.sshKeyPath, join(home, ".ssh/id_ed25519.pub"));
    assertEquals(tap.ssh, { user: "debian", privateKeyPath: join(home, ".ssh/id_ed25519") });
    assertEquals(doc.vms[0].provision[1], {
      kind: "file",
      source: join(dir, "config/bashrc"),
      destination: "/home/ubuntu/.bashrc",
      line: 26,
    });
  });
});

Deno.test("validate --json prints the errors of a bad file and exits 1", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "bad.kdl");
    await Deno.writeTextFile(file, 'vm "a" {\n  image-url "https://x.org/i"\n  memroy 2048\n}\n');
    const r = await validate(["--file", "bad.kdl", "--json"], { cwd: dir, home: dir });
    assertEquals(r.code, 1);
    const doc = JSON.parse(r.stdout);
    assertEquals(doc.file, file);
    assertEquals(doc.errors.length, 1);
    assertEquals(doc.errors[0].code, "vmctl::vmfile::unknown_node");
    assertEquals(doc.errors[0].span, { file, line: 3, column: 3 });
    assertEquals(doc.errors[0].hint, "did you mean `memory`?");
    assertStringIncludes(r.stderr, `${file}:3:3`);
  });
});

Deno.test("validate finds ./VMFile.kdl in the invocation directory and prints a summary", async () => {
  await withTempDir(async (dir) => {
    await Deno.copyFile(join(BOOK, "multi-vm.kdl"), join(dir, "VMFile.kdl"));
    const r = await validate([], { cwd: dir, home: dir });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, `${join(dir, "VMFile.kdl")}: OK, 2 VMs`);
    assertStringIncludes(r.stdout, "db (line 16)");
    assertStringIncludes(r.stdout, "memory     4096 MB");
    assertStringIncludes(r.stdout, "disk       50 GB");
    assertStringIncludes(r.stdout, "provision  1 step");
  });
});

Deno.test("validate without a VMFile exits 1 with vmfile::not_found", async () => {
  await withTempDir(async (dir) => {
    const r = await validate(["--json"], { cwd: dir, home: dir });
    assertEquals(r.code, 1);
    const doc = JSON.parse(r.stdout);
    assertEquals(doc.errors[0].code, "vmctl::vmfile::not_found");
    assert(doc.errors[0].hint);
    assertStringIncludes(r.stderr, "vmctl::vmfile::not_found");
  });
});
