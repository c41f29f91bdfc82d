// `vmctl ssh` as users run it: which VM, and the refusals that need no guest.
// (Connecting to a real guest is covered by tests/e2e/declarative_workflow_test.ts.)
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

async function withHome(fn: (home: string) => Promise<void>) {
  const home = await tempHome();
  try {
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const vm = (name: string) =>
  `vm "${name}" {\n    image "disk.qcow2"\n    ssh {\n        user "vm"\n    }\n}\n`;

Deno.test("vmctl ssh on a noop VM says there is no guest", () =>
  withHome(async (home) => {
    await vmctlOk(home, ["create", "--name", "web", "--image", await fakeImage(home)]);
    await vmctlOk(home, ["start", "web"]);
    const r = await vmctl(home, ["ssh", "web", "--", "true"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::ssh::no_guest");
  }));

Deno.test("vmctl ssh -- COMMAND takes the VM from a one-VM VMFile", () =>
  withHome(async (home) => {
    await fakeImage(home);
    await Deno.writeTextFile(join(home, "VMFile.kdl"), vm("only"));
    await vmctlOk(home, ["up"]);
    const r = await vmctl(home, ["ssh", "--", "uname", "-a"]);
    assertEquals(r.code, 1);
    // The inferred VM was found and refused for its backend, not taken from "uname".
    assertStringIncludes(r.stderr, "vmctl::ssh::no_guest");
    assertStringIncludes(r.stderr, "'only'");
  }));

Deno.test("vmctl ssh without a name and several VMs in the VMFile asks which one", () =>
  withHome(async (home) => {
    await fakeImage(home);
    await Deno.writeTextFile(join(home, "VMFile.kdl"), vm("alpha") + vm("beta"));
    const r = await vmctl(home, ["ssh"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "vmctl::ssh::ambiguous");
    assertStringIncludes(r.stderr, "alpha, beta");
  }));

Deno.test("vmctl ssh without a name and without a VMFile asks which VM", () =>
  withHome(async (home) => {
    const r = await vmctl(home, ["ssh"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "vmctl::ssh::no_name");
  }));

Deno.test("vmctl ssh names an unknown VM with a suggestion", () =>
  withHome(async (home) => {
    await vmctlOk(home, ["create", "--name", "web", "--image", await fakeImage(home)]);
    const r = await vmctl(home, ["ssh", "wbe"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vm::not_found");
    assertStringIncludes(r.stderr, "web");
  }));

Deno.test("vmctl ssh refuses a hostile VM name before using it", () =>
  withHome(async (home) => {
    const r = await vmctl(home, ["ssh", "../etc", "--", "true"]);
    assertEquals(r.code === 0, false);
    assertStringIncludes(r.stderr, "vmctl::");
  }));

Deno.test("vmctl ssh refuses NAME and a different --name together", () =>
  withHome(async (home) => {
    const r = await vmctl(home, ["ssh", "a", "--name", "b"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "vmctl::ssh::two_names");
  }));

Deno.test("vmctl ssh NAME is not blocked by a broken VMFile.kdl in the directory", () =>
  withHome(async (home) => {
    await vmctlOk(home, ["create", "--name", "web", "--image", await fakeImage(home)]);
    await vmctlOk(home, ["start", "web"]);
    await Deno.writeTextFile(join(home, "VMFile.kdl"), 'vm "x" { vcpus "many" \n');
    const r = await vmctl(home, ["ssh", "web", "--", "true"]);
    assertStringIncludes(r.stderr, "vmctl::ssh::no_guest");
  }));
