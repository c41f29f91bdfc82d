import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, snapshot, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

const VMFILE = `vm "web" {
    image "disk.qcow2"
    vcpus 2
    memory 2048
    cloud-init {
        hostname "web"
    }
    ssh {
        user "vm"
    }
    provision "shell" {
        inline "echo hi"
    }
}
vm "db" {
    image "disk.qcow2"
}
`;

async function withProject(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fakeImage(home);
    await Deno.writeTextFile(`${home}/VMFile.kdl`, VMFILE);
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** Run a dry-run command and assert the whole directory is byte-identical afterwards. */
async function unchangedBy(home: string, args: string[]): Promise<string> {
  const before = await snapshot(home);
  const r = await vmctl(home, args);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await snapshot(home), before);
  assertStringIncludes(r.stdout, "nothing was changed");
  return r.stdout;
}

Deno.test("create --dry-run prints the plan and creates nothing, not even the data dir", async () => {
  await withProject(async (home) => {
    const out = await unchangedBy(home, [
      "create",
      "--name",
      "n",
      "--image",
      "disk.qcow2",
      "--start",
      "--dry-run",
    ]);
    assertStringIncludes(out, "would create VM 'n' on the noop backend");
    assertStringIncludes(out, `${home}/disk.qcow2`);
    assertStringIncludes(out, "would start VM 'n'");
  });
});

Deno.test("up --dry-run on a fresh project lists every VM it would create", async () => {
  await withProject(async (home) => {
    const out = await unchangedBy(home, ["up", "--dry-run"]);
    assertStringIncludes(out, "web: absent -> create, start, provision");
    assertStringIncludes(out, "db: absent -> create, start, provision");
    assertStringIncludes(out, "would run 1 provisioning step(s)");
  });
});

Deno.test("up, down and reload --dry-run on existing VMs change nothing and say why", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["up"]);
    await vmctlOk(home, ["stop", "db"]);
    const up = await unchangedBy(home, ["up", "--dry-run"]);
    assertStringIncludes(up, "web: running -> skip (already running)");
    assertStringIncludes(up, "db: stopped -> would start it");
    const down = await unchangedBy(home, ["down", "--dry-run"]);
    assertStringIncludes(down, "web: would be stopped");
    assertStringIncludes(down, "db: already stopped: skipped");
    const destroy = await unchangedBy(home, ["down", "--destroy", "--dry-run"]);
    assertStringIncludes(destroy, "web: would be destroyed (was running)");
    const reload = await unchangedBy(home, ["reload", "--dry-run"]);
    assertStringIncludes(reload, "web: would destroy it (running), then recreate it");
  });
});

Deno.test("create --dry-run still refuses what create would refuse", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["create", "--name", "n", "--image", "disk.qcow2"]);
    const r = await vmctl(home, ["create", "--name", "n", "--image", "disk.qcow2", "--dry-run"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vm::exists");
  });
});
