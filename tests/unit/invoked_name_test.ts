import { assertEquals } from "../helpers/assert.ts";
import { type Invocation, invokedName } from "../../cli/invoked.ts";

const DENO = "/usr/local/bin/deno";
const unread = () => {
  throw new Error("argv0 must not be read under deno run (it boots the Node layer)");
};
const run = (mainModule: string, execPath: string, argv0: Invocation["argv0"] = unread) => ({
  mainModule,
  execPath,
  argv0,
});

Deno.test("a script or bundle named zmgr runs as zmgr", () => {
  assertEquals(invokedName(run("file:///opt/vmctl/zmgr", DENO)), "zmgr");
  assertEquals(invokedName(run("file:///opt/vmctl/zmgr.js", DENO)), "zmgr");
});

Deno.test("main.ts under deno run is vmctl and never reads argv0", () => {
  assertEquals(invokedName(run("file:///work/main/main.ts", DENO)), "vmctl");
  assertEquals(invokedName(run("file:///work/main/main.ts", "C:\\deno\\deno.exe")), "vmctl");
});

Deno.test("a compiled binary is named by argv0", () => {
  const compiled = "/usr/local/bin/vmctl";
  assertEquals(invokedName(run("file:///main.ts", compiled, () => "/usr/local/bin/zmgr")), "zmgr");
  assertEquals(invokedName(run("file:///main.ts", compiled, () => "zmgr")), "zmgr");
  assertEquals(invokedName(run("file:///main.ts", compiled, () => "vmctl")), "vmctl");
  assertEquals(invokedName(run("file:///main.ts", compiled, () => undefined)), "vmctl");
});
