import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";
import { vmctlArgv, vmctlEnv } from "../helpers/runtime.ts";

async function withHome(fn: (home: string, image: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fn(home, await fakeImage(home));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

async function stateOf(home: string, name: string): Promise<string> {
  return JSON.parse(await vmctlOk(home, ["status", name, "--json"])).state;
}

Deno.test("every transition of the book's table works through the CLI on the noop backend", async () => {
  await withHome(async (home, image) => {
    assertStringIncludes(
      await vmctlOk(home, ["create", "--name", "t", "--image", image]),
      "created",
    );
    assertEquals(await stateOf(home, "t"), "prepared");
    await vmctlOk(home, ["start", "t"]);
    assertEquals(await stateOf(home, "t"), "running");
    await vmctlOk(home, ["suspend", "t"]);
    assertEquals(await stateOf(home, "t"), "suspended");
    await vmctlOk(home, ["resume", "t"]);
    assertEquals(await stateOf(home, "t"), "running");
    await vmctlOk(home, ["stop", "t", "--timeout", "5"]);
    assertEquals(await stateOf(home, "t"), "stopped");
    await vmctlOk(home, ["start", "t"]);
    assertEquals(await stateOf(home, "t"), "running");
    assertStringIncludes(await vmctlOk(home, ["destroy", "t"]), "destroyed");
    const r = await vmctl(home, ["status", "t"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vm::not_found");
  });
});

Deno.test("create --start leaves the VM running", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "s", "--image", image, "--start"]);
    assertEquals(await stateOf(home, "s"), "running");
  });
});

Deno.test("starting a running VM is refused with invalid_state, the state and what to do", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "r", "--image", image, "--start"]);
    const r = await vmctl(home, ["start", "r"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "error[vmctl::vm::invalid_state]");
    assertStringIncludes(r.stderr, "it is running");
    assertStringIncludes(r.stderr, "vmctl stop r");
    assert(!r.stderr.includes("    at "), "no stack trace");
  });
});

Deno.test("transitions outside the table are refused and change nothing", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "p", "--image", image]);
    for (const cmd of ["stop", "suspend", "resume"]) {
      const r = await vmctl(home, [cmd, "p"]);
      assertEquals(r.code, 1, cmd);
      assertStringIncludes(r.stderr, "vmctl::vm::invalid_state");
      assertStringIncludes(r.stderr, "prepared");
    }
    assertEquals(await stateOf(home, "p"), "prepared");
    await vmctlOk(home, ["start", "p"]);
    await vmctlOk(home, ["suspend", "p"]);
    const r = await vmctl(home, ["start", "p"]);
    assertStringIncludes(r.stderr, "vmctl resume p");
  });
});

Deno.test("creating a VM whose name exists is refused", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "dup", "--image", image]);
    const r = await vmctl(home, ["create", "--name", "dup", "--image", image]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vm::exists");
  });
});

Deno.test("the work dir is created 0700 even under umask 000", async () => {
  await withHome(async (home, image) => {
    const r = await new Deno.Command("sh", {
      args: [
        "-c",
        'umask 000; exec "$0" "$@"',
        ...vmctlArgv(["create", "--name", "u", "--image", image]),
      ],
      env: vmctlEnv({ XDG_DATA_HOME: home, VMCTL_BACKEND: "noop" }),
    }).output();
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
    for (const d of ["vmctl", "vmctl/vms", "vmctl/vms/u"]) {
      assertEquals((await Deno.stat(join(home, d))).mode! & 0o777, 0o700, d);
    }
    assertEquals((await Deno.stat(join(home, "vmctl", "vms.json"))).mode! & 0o777, 0o600);
  });
});

Deno.test("a failing prepare undoes the create: no work dir, no record", async () => {
  await withHome(async (home, image) => {
    const r = await vmctl(home, ["create", "--name", "f", "--image", image], {
      env: { VMCTL_NOOP_FAIL: "prepare" },
    });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::noop::injected_failure");
    assertEquals([...Deno.readDirSync(join(home, "vmctl", "vms"))], []);
    assertEquals(JSON.parse(await vmctlOk(home, ["list", "--json"])), []);
  });
});

Deno.test("a failing start leaves the VM failed with the reason; a later start recovers", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "f", "--image", image]);
    const r = await vmctl(home, ["start", "f"], { env: { VMCTL_NOOP_FAIL: "start" } });
    assertEquals(r.code, 1);
    const st = JSON.parse(await vmctlOk(home, ["status", "f", "--json"]));
    assertEquals(st.state, "failed");
    assertMatch(st.state_reason, /start failed/);
    await vmctlOk(home, ["start", "f"]);
    assertEquals(await stateOf(home, "f"), "running");
  });
});

Deno.test("destroy of a running VM stops it first and removes its work dir", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "d", "--image", image, "--start"]);
    const out = await vmctlOk(home, ["destroy", "d"]);
    assertStringIncludes(out, "stopping VM 'd' first");
    assertEquals([...Deno.readDirSync(join(home, "vmctl", "vms"))], []);
  });
});

Deno.test("destroy refuses a record whose work dir points outside the data dir", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "x", "--image", image]);
    const storeFile = join(home, "vmctl", "vms.json");
    const doc = JSON.parse(await Deno.readTextFile(storeFile));
    const victim = await Deno.makeTempDir({ dir: home, prefix: "victim-" });
    doc.vms.x.work_dir = victim;
    await Deno.writeTextFile(storeFile, JSON.stringify(doc));
    const r = await vmctl(home, ["destroy", "x"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::paths::outside_data_dir");
    assert((await Deno.stat(victim)).isDirectory);
  });
});

Deno.test("console on the noop backend says there is no console", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "c", "--image", image, "--start"]);
    const r = await vmctl(home, ["console", "c"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::console::unavailable");
    assertStringIncludes(r.stderr, "noop backend runs no guest");
  });
});

Deno.test("an unknown command is a usage error (exit 2)", async () => {
  await withHome(async (home) => {
    const r = await vmctl(home, ["strat", "x"]);
    assertEquals(r.code, 2);
  });
});

Deno.test("a Propolis create on a host without a zone registry says what to set up, and makes nothing", async () => {
  await withHome(async (home, image) => {
    const r = await vmctl(home, ["create", "--name", "p", "--image", image, "--network", "vnic"], {
      env: { VMCTL_BACKEND: "propolis", ZMGR_ROOT: `${home}/no-registry` },
    });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "zmgr::registry::not_initialized");
    assertEquals(JSON.parse(await vmctlOk(home, ["list", "--json"])), []);
  });
});

Deno.test("an unknown VMCTL_BACKEND is named with a suggestion", async () => {
  await withHome(async (home, image) => {
    const r = await vmctl(home, ["create", "--name", "p", "--image", image], {
      env: { VMCTL_BACKEND: "qemo" },
    });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::backend::unknown");
    assertStringIncludes(r.stderr, "qemu");
  });
});

Deno.test("create --start whose start fails keeps the VM, failed, and says how to go on", async () => {
  await withHome(async (home, image) => {
    const r = await vmctl(home, ["create", "--name", "k", "--image", image, "--start"], {
      env: { VMCTL_NOOP_FAIL: "start" },
    });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "`vmctl start k` retries");
    assertEquals(await stateOf(home, "k"), "failed");
  });
});
