import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl } from "../helpers/vmctl_cli.ts";
import { vmctlPermissionFlags } from "../../scripts/build/permissions.ts";

async function withProject(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fakeImage(home);
    await Deno.writeTextFile(`${home}/VMFile.kdl`, 'vm "a" {\n    image "disk.qcow2"\n}\n');
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const CASES: [string, string[], string[]][] = [
  ["--allow-env", ["--allow-read", "--allow-write"], ["list"]],
  ["--allow-env", ["--allow-read", "--allow-write"], [
    "create",
    "--name",
    "x",
    "--image",
    "disk.qcow2",
  ]],
  ["--allow-write", ["--allow-env", "--allow-read"], [
    "create",
    "--name",
    "x",
    "--image",
    "disk.qcow2",
  ]],
  ["--allow-write", ["--allow-env", "--allow-read"], ["up"]],
  ["--allow-read", ["--allow-env", "--allow-write"], ["list"]],
  ["--allow-read", ["--allow-env", "--allow-write"], ["up"]],
];

for (const [missing, perms, args] of CASES) {
  Deno.test(`without ${missing}, \`${args[0]}\` names the flag instead of a stack trace`, async () => {
    await withProject(async (home) => {
      // The scoped set minus one permission; --no-prompt so Deno never asks on a terminal.
      const r = await vmctl(home, args, { perms: ["--no-prompt", ...perms] });
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertStringIncludes(r.stderr, "error[vmctl::permission::denied]");
      assertStringIncludes(r.stderr, `hint: run with ${missing}`);
      assert(!/\n\s+at /.test(r.stderr), `stack trace printed:\n${r.stderr}`);
    });
  });
}

Deno.test("with the task's scoped permissions the noop lifecycle works", async () => {
  const perms = await vmctlPermissionFlags();
  assert(!perms.includes("--allow-all") && !perms.includes("-A"), "the task must be scoped");
  await withProject(async (home) => {
    for (const args of [["up"], ["list"], ["down", "--destroy"]]) {
      const r = await vmctl(home, args, { perms });
      assertEquals(r.code, 0, r.stderr);
    }
  });
});

Deno.test("a corrupt store is reported at its line and column, with a stack only under VMCTL_LOG=debug", async () => {
  await withProject(async (home) => {
    await Deno.mkdir(`${home}/vmctl`);
    await Deno.writeTextFile(`${home}/vmctl/vms.json`, "{ not json");
    const quiet = await vmctl(home, ["list"]);
    assertEquals(quiet.code, 1);
    assertStringIncludes(quiet.stderr, "vmctl::store::corrupt");
    assertStringIncludes(quiet.stderr, "vms.json:1:3");
    assert(!/\n\s+at /.test(quiet.stderr));
    const loud = await vmctl(home, ["list"], { env: { VMCTL_LOG: "debug" } });
    assert(/\n\s+at /.test(loud.stderr), loud.stderr);
  });
});
