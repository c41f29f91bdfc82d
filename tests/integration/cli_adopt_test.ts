/**
 * A project directory that was moved or renamed still controls its VMs:
 * `down --destroy` and `reload` refuse with a hint that names `--adopt`, and
 * `--adopt` takes the VM over (with a warning) instead of a dead end.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl } from "../helpers/vmctl_cli.ts";

const PROJECT = `vm "db" {\n    image "disk.qcow2"\n}\n`;

/** Run `fn` with a project brought `up` in home/before, then moved to home/after. */
async function withMovedProject(
  fn: (run: (args: string[]) => ReturnType<typeof vmctl>) => Promise<void>,
): Promise<void> {
  const home = await tempHome();
  try {
    const before = `${home}/before`;
    await Deno.mkdir(before);
    await fakeImage(before);
    await Deno.writeTextFile(`${before}/VMFile.kdl`, PROJECT);
    const up = await vmctl(home, ["up"], { cwd: before });
    assertEquals(up.code, 0, up.stderr);
    await Deno.rename(before, `${home}/after`);
    await fn((args) => vmctl(home, args, { cwd: `${home}/after` }));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("down --destroy in a moved project names --adopt as the way on", async () => {
  await withMovedProject(async (run) => {
    const r = await run(["down", "--destroy"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vmfile::foreign_vm");
    assertStringIncludes(r.stderr, "no longer exists");
    assertStringIncludes(r.stderr, "vmctl down --destroy --adopt");
  });
});

Deno.test("down --destroy --adopt destroys the VM of a moved project with a warning", async () => {
  await withMovedProject(async (run) => {
    const r = await run(["down", "--destroy", "--adopt"]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "adopting it");
    assertStringIncludes(r.stdout, "db: destroyed");
    assertEquals(JSON.parse((await run(["list", "--json"])).stdout), []);
  });
});

Deno.test("reload --adopt recreates the VM of a moved project, which then belongs to it", async () => {
  await withMovedProject(async (run) => {
    const refused = await run(["reload"]);
    assertEquals(refused.code, 1);
    assertStringIncludes(refused.stderr, "vmctl reload --adopt");
    const r = await run(["reload", "--adopt"]);
    assertEquals(r.code, 0, r.stderr);
    const down = await run(["down", "--destroy"]);
    assertEquals(down.code, 0, down.stderr);
  });
});
