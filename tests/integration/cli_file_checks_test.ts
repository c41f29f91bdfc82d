/**
 * Local files named by a VMFile are checked when they are about to be used:
 * creating a VM needs its image and keys, provisioning needs its sources,
 * `down` and `down --destroy` need none. `vmctl validate` reports them all.
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl } from "../helpers/vmctl_cli.ts";

const PROJECT = `vm "minimal" {
    image "disk.qcow2"
}
vm "app" {
    image "disk.qcow2"
    cloud-init {}
    ssh { user "vm" }
    provision "file" {
        source "app.tar"
        destination "/tmp/app.tar"
    }
}
vm "other" {
    image "other.qcow2"
    cloud-init { ssh-key "other.pub" }
}
`;

async function withProject(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fakeImage(home);
    await Deno.writeTextFile(`${home}/app.tar`, "tarball");
    await Deno.writeTextFile(`${home}/VMFile.kdl`, PROJECT);
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

Deno.test("validate reports every missing local file of every VM", async () => {
  await withProject(async (home) => {
    await Deno.remove(`${home}/app.tar`);
    const r = await vmctl(home, ["validate"]);
    assertEquals(r.code, 1);
    for (const f of ["app.tar", "other.qcow2", "other.pub"]) assertStringIncludes(r.stderr, f);
  });
});

Deno.test("up and down of one VM ignore another VM's missing files", async () => {
  await withProject(async (home) => {
    const up = await vmctl(home, ["up", "--name", "minimal"]);
    assertEquals(up.code, 0, up.stderr);
    const down = await vmctl(home, ["down", "--name", "minimal"]);
    assertEquals(down.code, 0, down.stderr);
    assertStringIncludes(down.stdout, "minimal: stopped");
  });
});

Deno.test("up of a VM whose image is missing stops before creating it", async () => {
  await withProject(async (home) => {
    const r = await vmctl(home, ["up", "--name", "other"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vmfile::file_not_found");
    assertStringIncludes(r.stderr, "other.qcow2");
    const list = JSON.parse((await vmctl(home, ["list", "--json"])).stdout);
    assertEquals(list, []);
  });
});

Deno.test("after up, a deleted provisioned source does not block down or down --destroy", async () => {
  await withProject(async (home) => {
    const up = await vmctl(home, ["up", "--name", "app"]);
    assertEquals(up.code, 0, up.stderr);
    await Deno.remove(`${home}/app.tar`);
    const down = await vmctl(home, ["down", "--name", "app"]);
    assertEquals(down.code, 0, down.stderr);
    const destroy = await vmctl(home, ["down", "--destroy"]);
    assertEquals(destroy.code, 0, destroy.stderr);
    assertStringIncludes(destroy.stdout, "app: destroyed");
    assert(!destroy.stderr.includes("file_not_found"));
  });
});
