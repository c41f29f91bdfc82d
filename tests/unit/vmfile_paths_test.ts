/**
 * Paths inside a VMFile (relative to its directory, `~`, existence checks),
 * finding and reading the file, and picking VMs by name.
 */
import { join } from "node:path";
import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../helpers/assert.ts";
import { Diagnostic, DiagnosticList } from "../../lib/diagnostics.ts";
import { discoverVmFile, loadVmFile, parseVmFile, selectVms } from "../../lib/vmfile/mod.ts";
import { expectOne, parseOk, problems, touch, vm, where, withTempDir } from "./vmfile_helpers.ts";

Deno.test("relative paths resolve against the VMFile's directory, not the cwd", () => {
  const text = vm(
    '  cloud-init {\n    user-data "../shared/ud.yaml"\n  }',
    'image "img/disk.qcow2"',
  );
  const def = parseOk(text, { path: "/srv/proj/VMFile.kdl" }).vms[0];
  assertEquals(def.image, { kind: "path", path: "/srv/proj/img/disk.qcow2" });
  assertEquals(def.cloudInit?.userDataPath, "/srv/shared/ud.yaml");
});

Deno.test("absolute paths are kept (normalised)", () => {
  const def = parseOk(vm("", 'image "/opt/images/../img/u.qcow2"')).vms[0];
  assertEquals(def.image, { kind: "path", path: "/opt/img/u.qcow2" });
});

Deno.test("~/ expands to the home directory", () => {
  const home = Deno.env.get("HOME")!;
  const def = parseOk(vm('  ssh {\n    private-key "~/.ssh/id_ed25519"\n  }')).vms[0];
  assertEquals(def.ssh, { user: "vm", privateKeyPath: join(home, ".ssh/id_ed25519") });
});

Deno.test("~user/ paths are refused rather than taken as relative", () => {
  expectOne(vm("", 'image "~bob/disk.qcow2"'), "invalid_value", 2, 9);
});

Deno.test("every local file the VMFile names must exist", async () => {
  await withTempDir((dir) => {
    const text = `vm "t" {
  image "disk.qcow2"
  cloud-init {
    ssh-key "k.pub"
    user-data "ud.yaml"
    network-config "nc.yaml"
    vendor-data "vd.yaml"
  }
  ssh {
    private-key "id"
  }
  provision "shell" {
    script "s.sh"
  }
  provision "file" {
    source "app.conf"
    destination "/etc/app.conf"
  }
}
`;
    const diags = problems(text, { checkFiles: true, path: join(dir, "VMFile.kdl") });
    assertEquals(where(diags), [
      "file_not_found@2:9",
      "file_not_found@4:13",
      "file_not_found@5:15",
      "file_not_found@6:20",
      "file_not_found@7:17",
      "file_not_found@10:17",
      "file_not_found@13:12",
      "file_not_found@16:12",
    ]);
    assertStringIncludes(diags[0].message, join(dir, "disk.qcow2"));
    assertStringIncludes(diags[0].hint ?? "", dir);
  });
});

Deno.test("local files that exist pass the check", async () => {
  await withTempDir(async (dir) => {
    await touch(dir, "disk.qcow2", "keys/k.pub", "s.sh");
    const text = vm(
      '  cloud-init {\n    ssh-key "keys/k.pub"\n  }\n  provision "shell" {\n    script "s.sh"\n  }',
      'image "disk.qcow2"',
    );
    const def = parseOk(text, { checkFiles: true, path: join(dir, "VMFile.kdl") }).vms[0];
    assertEquals(def.cloudInit?.sshKeyPath, join(dir, "keys/k.pub"));
  });
});

Deno.test("a directory where a file is expected is refused", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "disk.qcow2"));
    const d = expectOne(
      vm("", 'image "disk.qcow2"'),
      "file_not_found",
      2,
      9,
      {
        checkFiles: true,
        path: join(dir, "VMFile.kdl"),
      },
    );
    assertStringIncludes(d.message, "not a regular file");
  });
});

Deno.test("checkFiles: false skips the existence checks", () => {
  assertEquals(where(problems(vm("", 'image "nope.qcow2"'), { checkFiles: false })), []);
});

Deno.test("discoverVmFile resolves --file, accepts a directory holding VMFile.kdl", async () => {
  await withTempDir(async (dir) => {
    await touch(dir, "VMFile.kdl", "other/My.kdl", "sub/VMFile.kdl");
    assertEquals(discoverVmFile(join(dir, "other/My.kdl")), join(dir, "other/My.kdl"));
    assertEquals(discoverVmFile(join(dir, "sub")), join(dir, "sub/VMFile.kdl"));
  });
});

Deno.test("discoverVmFile reports a missing --file as vmfile::not_found with a hint", async () => {
  await withTempDir((dir) => {
    for (const f of [join(dir, "nope.kdl"), dir, ""]) {
      const err = assertThrows(() => discoverVmFile(f), Diagnostic);
      assertEquals(err.code, "vmctl::vmfile::not_found");
      assertStringIncludes(err.hint ?? "", "--file");
    }
  });
});

Deno.test("loadVmFile reads, parses and validates", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "VMFile.kdl");
    await Deno.writeTextFile(path, vm("  vcpus 3"));
    const file = await loadVmFile(path);
    assertEquals([file.path, file.dir, file.vms[0].vcpus], [path, dir, 3]);
  });
});

Deno.test("loadVmFile throws a DiagnosticList with every problem", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "VMFile.kdl");
    await Deno.writeTextFile(path, vm("  vcpus 0\n  memroy 1"));
    const err = await assertRejects(() => loadVmFile(path), DiagnosticList);
    assertEquals(where(err.diagnostics), ["invalid_value@3:9", "unknown_node@4:3"]);
    assertEquals(err.diagnostics[0].span?.file, path);
  });
});

Deno.test("loadVmFile refuses a missing file, a directory and invalid UTF-8", async () => {
  await withTempDir(async (dir) => {
    const missing = await assertRejects(() => loadVmFile(join(dir, "none.kdl")), DiagnosticList);
    assertEquals(missing.diagnostics[0].code, "vmctl::vmfile::not_found");
    const isDir = await assertRejects(() => loadVmFile(dir), DiagnosticList);
    assertEquals(isDir.diagnostics[0].code, "vmctl::vmfile::read_failed");
    await Deno.writeFile(join(dir, "bad.kdl"), new Uint8Array([0x76, 0x6d, 0x20, 0xff, 0xfe]));
    const bad = await assertRejects(() => loadVmFile(join(dir, "bad.kdl")), DiagnosticList);
    assertEquals(bad.diagnostics[0].code, "vmctl::vmfile::read_failed");
  });
});

const twoVms = () =>
  parseVmFile(
    'vm "web" {\n  image-url "https://x.org/a"\n}\nvm "db" {\n  image-url "https://x.org/a"\n}\n',
    "/p/VMFile.kdl",
  );

Deno.test("selectVms returns every VM without --name, in file order", () => {
  assertEquals(selectVms(twoVms()).map((v) => v.name), ["web", "db"]);
});

Deno.test("selectVms returns the named VM", () => {
  assertEquals(selectVms(twoVms(), "db").map((v) => v.name), ["db"]);
});

Deno.test("selectVms refuses an unknown name with a suggestion", () => {
  const err = assertThrows(() => selectVms(twoVms(), "wbe"), Diagnostic);
  assertEquals(err.code, "vmctl::vmfile::unknown_vm");
  assertStringIncludes(err.hint ?? "", "did you mean `web`?");
  assertStringIncludes(err.hint ?? "", "`db`");
});

Deno.test("selectVms refuses a hostile name as an invalid name", () => {
  for (const n of ["../web", "/web", "", "-web"]) {
    assertEquals(
      assertThrows(() => selectVms(twoVms(), n), Diagnostic).code,
      "vmctl::name::invalid",
    );
  }
});
