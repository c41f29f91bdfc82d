import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { isValidVmName, validateVmName } from "../../lib/names.ts";
import { assertInside, dataPaths, resolveUserPath, vmWorkDir } from "../../lib/paths.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

Deno.test("valid VM names are accepted", () => {
  for (const n of ["a", "web-01", "db.primary", "x_y", "A1", "a".repeat(63)]) {
    assertEquals(isValidVmName(n), true, n);
  }
});

Deno.test("hostile VM names are refused before they become paths", () => {
  for (
    const n of [
      "",
      "../x",
      "/abs",
      "-opt",
      ".hidden",
      "a/b",
      "a b",
      "a\nb",
      "a".repeat(64),
      "..",
      "é",
    ]
  ) {
    assertEquals(isValidVmName(n), false, JSON.stringify(n));
    const err = assertThrows(() => validateVmName(n), Diagnostic);
    assertEquals(err.code, "vmctl::name::invalid");
  }
});

Deno.test("the data dir follows XDG_DATA_HOME", () => {
  const p = dataPaths((n) => ({ XDG_DATA_HOME: "/tmp/xdg-test", HOME: "/home/u" })[n]);
  assertEquals(p.dataDir, "/tmp/xdg-test/vmctl");
  assertEquals(p.storeFile, "/tmp/xdg-test/vmctl/vms.json");
  assertEquals(vmWorkDir(p, "web"), "/tmp/xdg-test/vmctl/vms/web");
});

Deno.test("without XDG_DATA_HOME the data dir is ~/.local/share/vmctl", () => {
  assertEquals(dataPaths((n) => ({ HOME: "/home/u" })[n]).dataDir, "/home/u/.local/share/vmctl");
});

Deno.test("a relative XDG_DATA_HOME is ignored, as the XDG spec requires", () => {
  const p = dataPaths((n) => ({ XDG_DATA_HOME: "relative/dir", HOME: "/home/u" })[n]);
  assertEquals(p.dataDir, "/home/u/.local/share/vmctl");
});

Deno.test("assertInside refuses paths that escape or equal the parent", () => {
  assertInside("/data/vms", "/data/vms/a");
  for (const c of ["/data/vms", "/data/vms/../x", "/data/vmsx/a", "/etc"]) {
    assertThrows(() => assertInside("/data/vms", c), Diagnostic);
  }
});

Deno.test("user paths expand ~ and resolve relative to the base directory", () => {
  const home = Deno.env.get("HOME")!;
  assertEquals(resolveUserPath("~/.ssh/id.pub", "/x"), `${home}/.ssh/id.pub`);
  assertEquals(resolveUserPath("img/a.qcow2", "/proj"), "/proj/img/a.qcow2");
  assertEquals(resolveUserPath("/abs/../abs2", "/proj"), "/abs2");
});
