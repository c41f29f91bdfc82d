import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

const TWO = `vm "web" {
    image "disk.qcow2"
    cloud-init {
        hostname "web"
    }
    ssh {
        user "vm"
    }
    provision "shell" {
        inline "echo one"
    }
    provision "shell" {
        inline "echo two"
    }
}
vm "db" {
    image "disk.qcow2"
    memory 2048
}
`;

async function withProject(fn: (home: string) => Promise<void>, text = TWO): Promise<void> {
  const home = await tempHome();
  try {
    await fakeImage(home);
    await Deno.writeTextFile(`${home}/VMFile.kdl`, text);
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

async function states(home: string): Promise<Record<string, string>> {
  const list = JSON.parse(await vmctlOk(home, ["list", "--json"]));
  return Object.fromEntries(list.map((v: { name: string; state: string }) => [v.name, v.state]));
}

Deno.test("up creates and starts every VM in file order, timing each stage", async () => {
  await withProject(async (home) => {
    const r = await vmctl(home, ["up"]);
    assertEquals(r.code, 0, r.stderr);
    assert(r.stdout.indexOf("==> web") < r.stdout.indexOf("==> db"));
    assertMatch(r.stdout, /created \(noop, id noop-[0-9a-f-]+\) in \d+\.\d\d s/);
    assertMatch(r.stdout, /started in \d+\.\d\d s/);
    assertEquals(await states(home), { web: "running", db: "running" });
  });
});

Deno.test("up on the noop backend warns that provisioning steps were skipped", async () => {
  await withProject(async (home) => {
    const r = await vmctl(home, ["up", "--name", "web"]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(
      r.stderr,
      "2 provisioning step(s) skipped because the noop backend runs no guest",
    );
    assertEquals(await states(home), { web: "running" });
  });
});

Deno.test("up skips running VMs, starts stopped ones and resumes suspended ones", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["up"]);
    await vmctlOk(home, ["stop", "web"]);
    await vmctlOk(home, ["suspend", "db"]);
    const out = await vmctlOk(home, ["up"]);
    assertStringIncludes(out, "started (was stopped)");
    assertStringIncludes(out, "resumed in");
    assertStringIncludes(out, "not re-provisioned");
    assertEquals(await states(home), { web: "running", db: "running" });
    assertStringIncludes(await vmctlOk(home, ["up", "--name", "db"]), "already running: skipped");
  });
});

Deno.test("up reports a VM whose definition changed since it was created", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["up"]);
    await Deno.writeTextFile(`${home}/VMFile.kdl`, TWO.replace("memory 2048", "memory 4096"));
    const r = await vmctl(home, ["up"]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "VM 'db': its definition changed since it was created");
    assertStringIncludes(r.stderr, "vmctl reload --name db");
    assert(!r.stderr.includes("VM 'web'"), "web did not change");
  });
});

Deno.test("editing only provisioners does not count as a changed definition", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["up"]);
    await Deno.writeTextFile(`${home}/VMFile.kdl`, TWO.replace("echo two", "echo three"));
    const r = await vmctl(home, ["up"]);
    assert(!r.stderr.includes("definition changed"), r.stderr);
  });
});

Deno.test("down stops, down --destroy removes, and absent VMs are skipped", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["up", "--name", "web"]);
    const down = await vmctlOk(home, ["down"]);
    assertStringIncludes(down, "web: stopped");
    assertStringIncludes(down, "db: not created: skipped");
    assertEquals(await states(home), { web: "stopped" });
    await vmctlOk(home, ["down", "--destroy"]);
    assertEquals(await states(home), {});
    assertEquals([...Deno.readDirSync(`${home}/vmctl/vms`)], []);
  });
});

Deno.test("reload recreates the VM with a new id and instance-id", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["up", "--name", "db"]);
    const before = JSON.parse(await vmctlOk(home, ["status", "db", "--json"]));
    await vmctlOk(home, ["reload", "--name", "db"]);
    const after = JSON.parse(await vmctlOk(home, ["status", "db", "--json"]));
    assertEquals(after.state, "running");
    assert(after.id !== before.id);
    assert(after.instance_id !== before.instance_id);
  });
});

Deno.test("down --destroy and reload leave a same-named VM from elsewhere alone", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["create", "--name", "db", "--image", "disk.qcow2"]);
    for (const args of [["down", "--destroy"], ["reload", "--name", "db"]]) {
      const r = await vmctl(home, args);
      assertEquals(r.code, 1, args.join(" "));
      assertStringIncludes(r.stderr, "vmctl::vmfile::foreign_vm");
    }
    assertEquals(await states(home), { db: "prepared" });
  });
});

Deno.test("provision needs the VM to exist and run, and says the noop backend cannot", async () => {
  await withProject(async (home) => {
    let r = await vmctl(home, ["provision", "--name", "web"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vm::not_found");
    await vmctlOk(home, ["up", "--name", "web"]);
    await vmctlOk(home, ["stop", "web"]);
    r = await vmctl(home, ["provision", "--name", "web"]);
    assertStringIncludes(r.stderr, "vmctl::vm::invalid_state");
    await vmctlOk(home, ["start", "web"]);
    r = await vmctl(home, ["provision", "--name", "web"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::noop::no_guest");
    assertStringIncludes(await vmctlOk(home, ["provision", "--name", "db"]), "no provisioners");
  });
});

Deno.test("provisioners without an ssh block are refused with the VM's position", async () => {
  const text =
    'vm "x" {\n    image "disk.qcow2"\n    provision "shell" {\n        inline "true"\n    }\n}\n';
  await withProject(async (home) => {
    await vmctlOk(home, ["up", "--no-provision"]);
    const r = await vmctl(home, ["provision"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::provision::no_ssh");
    assertStringIncludes(r.stderr, "VMFile.kdl:1:1");
  }, text);
});

Deno.test("up without a VMFile says where it looked", async () => {
  const home = await tempHome();
  try {
    const r = await vmctl(home, ["up"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vmfile::not_found");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("up refuses provisioners without an ssh block before creating anything", async () => {
  const text =
    'vm "x" {\n    image "disk.qcow2"\n    provision "shell" {\n        inline "true"\n    }\n}\n';
  await withProject(async (home) => {
    const r = await vmctl(home, ["up"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::provision::no_ssh");
    assertEquals(await states(home), {});
  }, text);
});
