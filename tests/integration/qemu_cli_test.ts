/**
 * The QEMU backend through the real CLI with a blank disk as the guest
 * (boots nothing, ignores ACPI): `stop` escalates within its timeout, a QEMU
 * killed behind vmctl's back is reported by `status`, and a second `start`
 * of a running VM is refused without touching it.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { tempHome, vmctl } from "../helpers/vmctl_cli.ts";
import { alive, blankImage } from "./qemu_helpers.ts";

const ENV = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg" };

async function status(home: string, name: string): Promise<Record<string, unknown>> {
  const r = await vmctl(home, ["status", name, "--json"], { env: ENV });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function createBlank(home: string, name: string): Promise<void> {
  const img = await blankImage(home, `${name}.qcow2`);
  const r = await vmctl(home, ["create", "--name", name, "--image", img, "--memory", "128"], {
    env: ENV,
  });
  assertEquals(r.code, 0, r.stderr);
}

Deno.test("stop of a guest that ignores ACPI escalates within --timeout", async () => {
  const home = await tempHome();
  let pid: number | null = null;
  try {
    await createBlank(home, "deaf");
    const start = await vmctl(home, ["start", "deaf"], { env: ENV });
    assertEquals(start.code, 0, start.stderr);
    pid = (await status(home, "deaf")).pid as number;
    const again = await vmctl(home, ["start", "deaf"], { env: ENV });
    assertEquals(again.code, 1);
    assert(alive(pid), "a refused second start leaves the VM running");
    const t0 = Date.now();
    const stop = await vmctl(home, ["stop", "deaf", "--timeout", "2"], { env: ENV });
    const took = Date.now() - t0;
    assertEquals(stop.code, 0, stop.stderr);
    assertStringIncludes(stop.stderr, "SIGTERM");
    assert(took >= 2_000, `stop gave up after ${took} ms, before its 2 s grace period`);
    assert(!alive(pid));
    assertEquals((await status(home, "deaf")).state, "stopped");
  } finally {
    if (alive(pid)) Deno.kill(pid!, "SIGKILL");
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("status reports a QEMU killed with SIGKILL as failed, with the reason", async () => {
  const home = await tempHome();
  let pid: number | null = null;
  try {
    await createBlank(home, "victim");
    assertEquals((await vmctl(home, ["start", "victim"], { env: ENV })).code, 0);
    const st = await status(home, "victim");
    pid = st.pid as number;
    Deno.kill(pid, "SIGKILL");
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
    const after = await status(home, "victim");
    assertEquals(after.state, "failed");
    assertStringIncludes(String(after.state_reason), "killed or crashed");
    // the leftovers do not block a restart
    assertEquals((await vmctl(home, ["start", "victim"], { env: ENV })).code, 0);
    pid = (await status(home, "victim")).pid as number;
    const d = await vmctl(home, ["destroy", "victim"], { env: ENV });
    assertEquals(d.code, 0, d.stderr);
    assert(!alive(pid));
    assert(!(await Deno.stat(join(st.work_dir as string)).then(() => true, () => false)));
  } finally {
    if (alive(pid)) Deno.kill(pid!, "SIGKILL");
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("vmctl console attaches to a running VM and Ctrl+] detaches", async () => {
  const home = await tempHome();
  let pid: number | null = null;
  try {
    await createBlank(home, "con");
    assertEquals((await vmctl(home, ["start", "con"], { env: ENV })).code, 0);
    pid = (await status(home, "con")).pid as number;
    const r = await vmctl(home, ["console", "con"], { env: ENV, stdin: "\x1d" });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "Ctrl+]");
    assertStringIncludes(r.stderr, "Detached");
    assert(alive(pid), "detaching leaves the VM running");
    assertEquals((await vmctl(home, ["destroy", "con"], { env: ENV })).code, 0);
  } finally {
    if (alive(pid)) Deno.kill(pid!, "SIGKILL");
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("start --accel tcg overrides the accelerator recorded at create", async () => {
  const home = await tempHome();
  let pid: number | null = null;
  try {
    const img = await blankImage(home, "accel.qcow2");
    const env = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "kvm" };
    const create = await vmctl(
      home,
      ["create", "--name", "acc", "--image", img, "--memory", "128"],
      { env },
    );
    assertEquals(create.code, 0, create.stderr);
    const bad = await vmctl(home, ["start", "acc", "--accel", "warp"], { env });
    assertEquals(bad.code, 2, "a bad choice is a usage error");
    assertStringIncludes(bad.stderr, "--accel");
    const start = await vmctl(home, ["start", "acc", "--accel", "tcg"], { env });
    assertEquals(start.code, 0, start.stderr);
    pid = (await status(home, "acc")).pid as number;
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    assertStringIncludes(cmdline, "accel=tcg");
    assert(!cmdline.includes("accel=kvm"));
    assertEquals((await vmctl(home, ["destroy", "acc"], { env: ENV })).code, 0);
  } finally {
    if (alive(pid)) Deno.kill(pid!, "SIGKILL");
    await Deno.remove(home, { recursive: true });
  }
});
