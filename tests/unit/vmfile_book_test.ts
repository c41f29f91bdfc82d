/**
 * Every VMFile example of the vmctl book (copied verbatim into
 * fixtures/vmfiles/book/) parses, with the local files it names created in a
 * temp dir. The `~` paths of full-example are covered by vmfile_cli_test.ts,
 * which can give the child process its own HOME.
 */
import { join } from "node:path";
import { assertEquals } from "../helpers/assert.ts";
import { parseVmFile } from "../../lib/vmfile/mod.ts";
import { problems, touch, where, withTempDir } from "./vmfile_helpers.ts";

const BOOK = new URL("../../fixtures/vmfiles/book/", import.meta.url).pathname;

/** fixture -> [VM names, local files it references relative to its directory]. */
const EXAMPLES: Record<string, [string[], string[]]> = {
  "quick-start.kdl": [["dev"], []],
  "demo.kdl": [["demo"], []],
  "myvm.kdl": [["myvm"], []],
  "webserver.kdl": [["webserver"], []],
  "builder.kdl": [["builder"], ["src.tar.gz"]],
  "omnios-builder.kdl": [["omnios-builder"], [
    "scripts/bootstrap-omnios.sh",
    "scripts/forger-src.tar.gz",
    "scripts/install-forger.sh",
  ]],
  "dev-server.kdl": [["dev-server"], []],
  "multi-vm.kdl": [["web", "db"], []],
  "tap-network.kdl": [["myvm"], ["image.qcow2"]],
  "custom-user-data.kdl": [["custom"], ["cloud-config.yaml"]],
};

Deno.test("the book fixtures are all covered by this test", async () => {
  const files: string[] = [];
  for await (const e of Deno.readDir(BOOK)) files.push(e.name);
  assertEquals(files.sort(), [...Object.keys(EXAMPLES), "full-example.kdl"].sort());
});

for (const [fixture, [names, locals]] of Object.entries(EXAMPLES)) {
  Deno.test(`book example ${fixture} parses with its files present`, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, "VMFile.kdl");
      await Deno.copyFile(join(BOOK, fixture), path);
      await touch(dir, ...locals);
      const file = parseVmFile(await Deno.readTextFile(path), path);
      assertEquals(file.vms.map((v) => v.name), names);
      assertEquals(file.dir, dir);
    });
  });
}

Deno.test("book example omnios-builder reports each missing local file", async () => {
  const text = await Deno.readTextFile(join(BOOK, "omnios-builder.kdl"));
  await withTempDir((dir) => {
    const diags = problems(text, { checkFiles: true, path: join(dir, "VMFile.kdl") });
    assertEquals(where(diags), [
      "file_not_found@14:16",
      "file_not_found@17:16",
      "file_not_found@21:16",
    ]);
  });
});

Deno.test("book full-example: three VMs with the book's values and defaults", async () => {
  const text = await Deno.readTextFile(join(BOOK, "full-example.kdl"));
  const file = parseVmFile(text, "/srv/proj/VMFile.kdl", { checkFiles: false });
  const [full, tap, minimal] = file.vms;
  assertEquals([full.vcpus, full.memoryMb, full.diskGb, full.network], [4, 4096, 40, {
    type: "user",
  }]);
  assertEquals(full.cloudInit, { hostname: "full-example" });
  assertEquals(full.ssh, { user: "ubuntu" });
  assertEquals(full.provision.map((p) => p.kind), ["shell", "file", "shell"]);
  assertEquals(full.provision[1], {
    kind: "file",
    source: "/srv/proj/config/bashrc",
    destination: "/home/ubuntu/.bashrc",
    span: full.provision[1].span,
  });
  assertEquals(tap.network, { type: "tap", bridge: "br0" });
  assertEquals(tap.ssh?.user, "debian");
  assertEquals([minimal.vcpus, minimal.memoryMb, minimal.network], [1, 1024, { type: "user" }]);
  assertEquals([minimal.cloudInit, minimal.ssh, minimal.provision], [undefined, undefined, []]);
});
