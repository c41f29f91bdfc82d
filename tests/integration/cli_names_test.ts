import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl } from "../helpers/vmctl_cli.ts";

const HOSTILE = ["../x", "/abs", "", "-opt", "a/b", "..", "x".repeat(64), "a b", "a\nb"];

async function withHome(fn: (home: string, image: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fn(home, await fakeImage(home));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

async function dataDirExists(home: string): Promise<boolean> {
  try {
    await Deno.stat(`${home}/vmctl`);
    return true;
  } catch {
    return false;
  }
}

for (const name of HOSTILE) {
  Deno.test(`create refuses the name ${JSON.stringify(name)} before touching the disk`, async () => {
    await withHome(async (home, image) => {
      const r = await vmctl(home, ["create", `--name=${name}`, "--image", image]);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, "vmctl::name::invalid");
      assertEquals(await dataDirExists(home), false);
    });
  });
}

for (const cmd of ["start", "stop", "destroy", "status", "suspend", "resume", "console", "log"]) {
  Deno.test(`${cmd} refuses a name with a path in it before touching the disk`, async () => {
    await withHome(async (home) => {
      const r = await vmctl(home, [cmd, "--", "../../etc"]);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, "vmctl::name::invalid");
      assertEquals(await dataDirExists(home), false);
    });
  });
}

Deno.test("up --name refuses a hostile name before touching the disk", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(`${home}/VMFile.kdl`, 'vm "ok" {\n    image "disk.qcow2"\n}\n');
    const r = await vmctl(home, ["up", "--name", "../x"]);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "vmctl::name::invalid");
    assertEquals(await dataDirExists(home), false);
  });
});
