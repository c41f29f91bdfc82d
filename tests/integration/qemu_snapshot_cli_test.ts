/**
 * `vmctl snapshot ...`, `stop --save` and the resume of `start`, through the
 * CLI, on a blank qcow2 under TCG: SeaBIOS finds nothing to boot and idles,
 * which QEMU snapshots (memory, devices, disk) like any guest. A real guest's
 * files and processes are checked in qemu_guest_snapshot_test.ts.
 */
import { join } from "node:path";
import { execCommand } from "../../backends/exec.ts";
import { connectQmp } from "../../lib/qmp.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { spawnVmctl as spawnWith, tempHome, vmctl } from "../helpers/vmctl_cli.ts";

/** Start `vmctl ARGS` on the QEMU backend in the background (to interrupt it). */
const spawnVmctl = (home: string, args: string[]) => spawnWith(home, args, ENV);
import { alive, blankImage, killIfAlive } from "./qemu_helpers.ts";

const ENV = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg" };

interface Vm {
  home: string;
  name: string;
  workDir: string;
  overlay: string;
  base: string;
  run(args: string[]): ReturnType<typeof vmctl>;
  ok(args: string[]): Promise<string>;
  status(): Promise<Record<string, unknown>>;
}

/** A blank VM (128 MB, no network) in a fresh data dir, started unless `stopped`. */
async function withVm(
  o: { stopped?: boolean; home?: string },
  fn: (vm: Vm) => Promise<void>,
): Promise<void> {
  const home = o.home ?? await tempHome();
  const name = "s";
  const run = (args: string[]) => vmctl(home, args, { env: ENV });
  const ok = async (args: string[]) => {
    const r = await run(args);
    assertEquals(r.code, 0, `vmctl ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const status = async () => JSON.parse(await ok(["status", name, "--json"]));
  const base = await blankImage(home);
  const workDir = join(home, "vmctl", "vms", name);
  const vm: Vm = {
    home,
    name,
    workDir,
    overlay: join(workDir, "overlay.qcow2"),
    base,
    run,
    ok,
    status,
  };
  try {
    await ok(["create", "--name", name, "--image", base, "--memory", "128", "--network", "none"]);
    if (!o.stopped) await ok(["start", name]);
    await fn(vm);
  } finally {
    await run(["destroy", name]);
    killIfAlive((await status().catch(() => ({})) as { pid?: number }).pid);
    if (!o.home) await Deno.remove(home, { recursive: true });
  }
}

/** The snapshots the overlay holds, as qemu-img lists them (name, memory bytes). */
async function imageSnapshots(overlay: string): Promise<[string, boolean][]> {
  const r = await execCommand(["qemu-img", "info", "-U", "--output=json", overlay]);
  const snaps = (JSON.parse(r.stdout).snapshots ?? []) as Record<string, unknown>[];
  return snaps.map((s) => [String(s.name), Number(s["vm-state-size"]) > 0]);
}

async function qmpStatus(workDir: string): Promise<string> {
  const qmp = await connectQmp(join(workDir, "qmp.sock"));
  try {
    return (await qmp.execute<{ status: string }>("query-status")).status;
  } finally {
    qmp.close();
  }
}

/** Write `pattern` (a byte) over the first 64 KiB of a stopped VM's disk. */
async function writeDisk(overlay: string, pattern: number): Promise<void> {
  await execCommand(["qemu-io", "-f", "qcow2", "-c", `write -P ${pattern} 0 64k`, overlay]);
}

/** True when the first 64 KiB of the disk are all `pattern`. */
async function diskHolds(overlay: string, pattern: number): Promise<boolean> {
  const r = await execCommand(
    ["qemu-io", "-f", "qcow2", "-c", `read -P ${pattern} 0 64k`, overlay],
    { check: false },
  );
  return r.code === 0 && !/Pattern verification failed/.test(r.stdout + r.stderr);
}

function diagCode(stderr: string): string | undefined {
  return /error\[([^\]]+)\]/.exec(stderr)?.[1];
}

Deno.test("a running VM's snapshot holds its memory and is listed with its size and QEMU", async () => {
  await withVm({}, async (vm) => {
    const baseBefore = await Deno.readFile(vm.base);
    assertStringIncludes(await vm.ok(["snapshot", "create", vm.name, "s1"]), "'s1' created");
    const [row] = JSON.parse(await vm.ok(["snapshot", "list", vm.name, "--json"]));
    assertEquals([row.name, row.memory], ["s1", true]);
    assert(row.vm_state_bytes > 0);
    assertEquals(row.machine, /alias of (\S+)\)/.exec(await machineHelp())?.[1]);
    assertEquals(row.qemu_version, /version (\d+\.\d+\.\d+)/.exec(await qemuVersion())?.[1]);
    assertStringIncludes(await vm.ok(["snapshot", "list", vm.name]), "s1");
    assertEquals(await imageSnapshots(vm.overlay), [["s1", true]]);
    assertEquals(await Deno.readFile(vm.base), baseBefore, "the base image is never written");
    assertEquals(await qmpStatus(vm.workDir), "running");
  });
});

async function machineHelp(): Promise<string> {
  return (await execCommand(["qemu-system-x86_64", "-machine", "help"])).stdout.split("\n")
    .find((l) => l.startsWith("q35 "))!;
}

async function qemuVersion(): Promise<string> {
  return (await execCommand(["qemu-system-x86_64", "--version"])).stdout;
}

Deno.test("snapshot restore brings a running VM back and keeps it running", async () => {
  await withVm({}, async (vm) => {
    await vm.ok(["snapshot", "create", vm.name, "s1"]);
    await vm.ok(["snapshot", "create", vm.name, "s2"]);
    assertStringIncludes(await vm.ok(["snapshot", "restore", vm.name, "s1"]), "'s1' restored");
    assertEquals((await vm.status()).state, "running");
    assertEquals(await qmpStatus(vm.workDir), "running");
    assertEquals((await imageSnapshots(vm.overlay)).map(([n]) => n), ["s1", "s2"]);
  });
});

Deno.test("a stopped VM's snapshot is of its disk, and restore reverts the disk", async () => {
  await withVm({ stopped: true }, async (vm) => {
    await writeDisk(vm.overlay, 0xab);
    await vm.ok(["snapshot", "create", vm.name, "d1"]);
    await writeDisk(vm.overlay, 0xcd);
    await vm.ok(["snapshot", "restore", vm.name, "d1"]);
    assert(await diskHolds(vm.overlay, 0xab), "the disk is back to the snapshot");
    const [row] = JSON.parse(await vm.ok(["snapshot", "list", vm.name, "--json"]));
    assertEquals([row.name, row.memory, row.qemu_version], ["d1", false, null]);
    assertEquals((await vm.status()).state, "prepared");
  });
});

Deno.test("a disk-only snapshot of a running VM is refused for a live restore", async () => {
  await withVm({}, async (vm) => {
    await vm.ok(["snapshot", "create", vm.name, "d1", "--disk-only"]);
    assertEquals(await imageSnapshots(vm.overlay), [["d1", false]]);
    const r = await vm.run(["snapshot", "restore", vm.name, "d1"]);
    assertEquals([r.code, diagCode(r.stderr)], [1, "vmctl::snapshot::disk_only_live"]);
    assertEquals(await qmpStatus(vm.workDir), "running");
  });
});

Deno.test("snapshot delete removes it from the disk; an unknown one is a diagnostic", async () => {
  await withVm({}, async (vm) => {
    await vm.ok(["snapshot", "create", vm.name, "s1"]);
    await vm.ok(["snapshot", "delete", vm.name, "s1"]);
    assertEquals(await imageSnapshots(vm.overlay), []);
    assertEquals(JSON.parse(await Deno.readTextFile(join(vm.workDir, "snapshots.json"))), {
      version: 1,
      snapshots: {},
    });
    for (const action of ["delete", "restore"]) {
      const r = await vm.run(["snapshot", action, vm.name, "s1"]);
      assertEquals([r.code, diagCode(r.stderr)], [1, "vmctl::snapshot::unknown"]);
    }
  });
});

Deno.test("a duplicate snapshot name is refused and the existing snapshot kept", async () => {
  await withVm({}, async (vm) => {
    await vm.ok(["snapshot", "create", vm.name, "s1"]);
    const r = await vm.run(["snapshot", "create", vm.name, "s1", "--disk-only"]);
    assertEquals([r.code, diagCode(r.stderr)], [1, "vmctl::snapshot::exists"]);
    assertEquals(await imageSnapshots(vm.overlay), [["s1", true]]);
  });
});

Deno.test("snapshot names follow the VM name rule, not all digits, not vmctl's own", async () => {
  const home = await tempHome();
  try {
    for (const bad of ["123", "vmctl-saved-state", "_x", "a/b", "a b", "x".repeat(64)]) {
      const r = await vmctl(home, ["snapshot", "create", "vm1", bad], { env: ENV });
      assertEquals([r.code, diagCode(r.stderr)], [1, "vmctl::snapshot::invalid_name"], bad);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a memory snapshot written by another QEMU version is refused with the reason", async () => {
  await withVm({}, async (vm) => {
    await vm.ok(["snapshot", "create", vm.name, "s1"]);
    const bookPath = join(vm.workDir, "snapshots.json");
    const book = JSON.parse(await Deno.readTextFile(bookPath));
    book.snapshots.s1.origin.qemu_version = "6.2.0";
    await Deno.writeTextFile(bookPath, JSON.stringify(book));
    const r = await vm.run(["snapshot", "restore", vm.name, "s1"]);
    assertEquals([r.code, diagCode(r.stderr)], [1, "vmctl::snapshot::incompatible"]);
    assertStringIncludes(r.stderr, "written by QEMU 6.2.0");
    assertEquals(await qmpStatus(vm.workDir), "running");
  });
});

Deno.test("stop --save quits QEMU, status shows the saved state, start resumes it once", async () => {
  await withVm({}, async (vm) => {
    const pid = (await vm.status()).pid as number;
    await vm.ok(["stop", vm.name, "--save"]);
    assert(!alive(pid), "QEMU ended");
    const st = await vm.status();
    assertEquals(st.state, "stopped");
    assertEquals((st.saved_state as { tag: string }).tag, "vmctl-saved-state");
    assertStringIncludes(await vm.ok(["status", vm.name]), "the next start resumes it");
    assertEquals(JSON.parse(await vm.ok(["snapshot", "list", vm.name, "--json"])), []);
    assertStringIncludes(
      await vm.ok(["start", vm.name, "--dry-run"]),
      "start VM 's' from its saved state",
    );

    await vm.ok(["start", vm.name]);
    const after = await vm.status();
    assertEquals([after.state, after.saved_state], ["running", null]);
    const cmdline = await Deno.readTextFile(`/proc/${after.pid}/cmdline`);
    assertStringIncludes(cmdline, "-loadvm\0vmctl-saved-state\0");
    assertEquals(await imageSnapshots(vm.overlay), [], "the saved state was used once");
  });
});

Deno.test("a saved state of another machine type is refused; start --fresh boots and discards it", async () => {
  await withVm({}, async (vm) => {
    await vm.ok(["stop", vm.name, "--save"]);
    const storePath = join(vm.home, "vmctl", "vms.json");
    const doc = JSON.parse(await Deno.readTextFile(storePath));
    doc.vms[vm.name].saved_state.machine = "pc-q35-6.2";
    await Deno.writeTextFile(storePath, JSON.stringify(doc));
    const r = await vm.run(["start", vm.name]);
    assertEquals([r.code, diagCode(r.stderr)], [1, "vmctl::snapshot::incompatible"]);
    assertStringIncludes(r.stderr, "machine type pc-q35-6.2");
    assertStringIncludes(r.stderr, "--fresh");
    assertEquals((await vm.status()).state, "stopped");

    await vm.ok(["start", vm.name, "--fresh"]);
    const st = await vm.status();
    assertEquals([st.state, st.saved_state], ["running", null]);
    assert(!(await Deno.readTextFile(`/proc/${st.pid}/cmdline`)).includes("-loadvm"));
    assertEquals(await imageSnapshots(vm.overlay), []);
  });
});

Deno.test("a VM on a raw disk is told that snapshots need the qcow2 overlay", async () => {
  await withVm({ stopped: true }, async (vm) => {
    const raw = `${vm.overlay}.raw`;
    await execCommand(["qemu-img", "convert", "-O", "raw", vm.overlay, raw]);
    await Deno.rename(raw, vm.overlay);
    const r = await vm.run(["snapshot", "create", vm.name, "s1"]);
    assertEquals([r.code, diagCode(r.stderr)], [1, "vmctl::snapshot::needs_qcow2"]);
    assertStringIncludes(r.stderr, "raw image");
  });
});

Deno.test("the noop backend refuses snapshots clearly", async () => {
  const home = await tempHome();
  try {
    const noop = (args: string[]) => vmctl(home, args);
    assertEquals((await noop(["create", "--name", "n", "--image-url", "https://x/y.img"])).code, 0);
    for (
      const args of [["snapshot", "create", "n", "s1"], ["snapshot", "list", "n"], [
        "stop",
        "n",
        "--save",
      ]]
    ) {
      if (args[0] === "stop") assertEquals((await noop(["start", "n"])).code, 0);
      const r = await noop(args);
      assertEquals(
        [r.code, diagCode(r.stderr)],
        [1, "vmctl::snapshot::unsupported"],
        args.join(" "),
      );
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("--dry-run renders the snapshot and stop --save plans and changes nothing", async () => {
  await withVm({}, async (vm) => {
    const text = await vm.ok(["snapshot", "create", vm.name, "s1", "--dry-run"]);
    assertStringIncludes(text, "plan: snapshot VM 's' as 's1'");
    assertStringIncludes(text, "undo: delete snapshot 's1' if it was written");
    const json = JSON.parse(
      await vm.ok(["snapshot", "delete", vm.name, "s1", "--dry-run", "--json"]),
    );
    assertEquals(json.courses[0].stages[0].plan.title, "delete snapshot 's1' of VM 's'");
    assertStringIncludes(
      await vm.ok(["stop", vm.name, "--save", "--dry-run"]),
      "save the running state",
    );
    assertEquals(await imageSnapshots(vm.overlay), []);
    assertEquals((await vm.status()).state, "running");
  });
});

Deno.test("a full disk during a save leaves the VM running and no partial snapshot", async () => {
  const home = await tempHome();
  const mounted = await execCommand(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", home], {
    check: false,
  });
  if (mounted.code !== 0) throw new Error(`mounting a tmpfs needs root: ${mounted.stderr}`);
  try {
    await withVm({ home }, async (vm) => {
      const filler = join(home, "filler");
      await fillLeaving(home, filler, 512 * 1024);
      const r = await vm.run(["snapshot", "create", vm.name, "s1"]);
      assertEquals([r.code, diagCode(r.stderr)], [1, "vmctl::snapshot::save_failed"]);
      assertStringIncludes(r.stderr, "the file system holding the overlay is full");
      assertEquals(await qmpStatus(vm.workDir), "running");
      assertEquals((await vm.status()).state, "running");
      assertEquals(await imageSnapshots(vm.overlay), []);
      await Deno.remove(filler);
      await vm.ok(["snapshot", "create", vm.name, "s1"]);
      assertEquals(await imageSnapshots(vm.overlay), [["s1", true]]);
    });
  } finally {
    await execCommand(["umount", home], { check: false });
    await Deno.remove(home, { recursive: true });
  }
});

/** Fill the file system of `dir` with `file` until `leave` bytes are free. */
async function fillLeaving(dir: string, file: string, leave: number): Promise<void> {
  const df = await execCommand(["df", "-B1", "--output=avail", dir]);
  const avail = Number(df.stdout.trim().split("\n").pop());
  await Deno.writeFile(file, new Uint8Array(Math.max(0, avail - leave)).fill(1));
}

/** Wait until the store shows `name` marked busy (the plan is under way). */
async function waitBusy(home: string, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      const doc = JSON.parse(await Deno.readTextFile(join(home, "vmctl", "vms.json")));
      if (doc.vms[name]?.operation) return;
    } catch { /* being replaced */ }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`VM ${name} never became busy`);
}

Deno.test("Ctrl+C during a save undoes it: the VM runs on without the snapshot", async () => {
  await withVm({}, async (vm) => {
    const child = spawnVmctl(vm.home, ["snapshot", "create", vm.name, "s1"]);
    await waitBusy(vm.home, vm.name);
    child.kill("SIGINT");
    const out = await child.output();
    assertEquals(out.code, 130, new TextDecoder().decode(out.stderr));
    assertEquals(await imageSnapshots(vm.overlay), []);
    assertEquals(await qmpStatus(vm.workDir), "running");
    assertEquals((await vm.status()).state, "running");
  });
});

Deno.test("Ctrl+C during a restore finishes the load: the VM runs, fully restored", async () => {
  await withVm({}, async (vm) => {
    await vm.ok(["snapshot", "create", vm.name, "s1"]);
    const child = spawnVmctl(vm.home, ["snapshot", "restore", vm.name, "s1"]);
    await waitBusy(vm.home, vm.name);
    child.kill("SIGINT");
    const out = await child.output();
    assertEquals(out.code, 130, new TextDecoder().decode(out.stderr));
    assertEquals(await qmpStatus(vm.workDir), "running");
    const st = await vm.status();
    assertEquals([st.state, st.operation ?? null], ["running", null]);
    assertEquals(await imageSnapshots(vm.overlay), [["s1", true]]);
  });
});

Deno.test("down --save keeps the state, up resumes it, down --save and up --fresh boot afresh", async () => {
  const home = await tempHome();
  const run = (args: string[]) => vmctl(home, args, { env: ENV });
  const ok = async (args: string[]) => {
    const r = await run(args);
    assertEquals(r.code, 0, `vmctl ${args.join(" ")}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  const cmdline = async () => {
    const st = JSON.parse(await ok(["status", "web", "--json"]));
    return await Deno.readTextFile(`/proc/${st.pid}/cmdline`);
  };
  try {
    await blankImage(home, "disk.qcow2");
    await Deno.writeTextFile(
      join(home, "VMFile.kdl"),
      'vm "web" {\n    image "disk.qcow2"\n    memory 128\n    network "none"\n}\n',
    );
    await ok(["up"]);
    assertStringIncludes(await ok(["down", "--save"]), "web: stopped (state saved)");
    assertStringIncludes(await ok(["up", "--dry-run"]), "with a saved state -> resume it");
    assertStringIncludes(await ok(["up"]), "resumed its saved state");
    assertStringIncludes(await cmdline(), "-loadvm");

    await ok(["down", "--save"]);
    await ok(["up", "--fresh"]);
    assert(!(await cmdline()).includes("-loadvm"), "booted afresh");
    assertEquals(JSON.parse(await ok(["status", "web", "--json"])).saved_state, null);
    const r = await run(["down", "--save", "--destroy"]);
    assertEquals([r.code, diagCode(r.stderr)], [2, "vmctl::usage::conflicting_options"]);
  } finally {
    await run(["down", "--destroy"]);
    await Deno.remove(home, { recursive: true });
  }
});
