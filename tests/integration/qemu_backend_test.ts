/**
 * The QEMU backend through the Hypervisor interface, with real
 * qemu-system-x86_64 / qemu-img under TCG and a blank disk as the guest
 * (SeaBIOS idles, ACPI power-off is ignored). The real-guest lifecycle is in
 * qemu_guest_lifecycle_test.ts.
 */
import { join } from "node:path";
import { qemuBackend } from "../../backends/qemu/mod.ts";
import { freeLoopbackPort } from "../../backends/ports.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { execCommand } from "../../backends/exec.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { alive, blankImage, killIfAlive, listensOn, newVm, qemuFixture } from "./qemu_helpers.ts";

async function rejectsWith(p: Promise<unknown>, code: string): Promise<Diagnostic> {
  const e = await assertRejects(() => p, Diagnostic);
  assertEquals(e.code, code, e.message);
  return e;
}

Deno.test("prepare makes a qcow2 overlay on the absolute base with a 52:54:00 MAC", async () => {
  const f = await qemuFixture();
  try {
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img, { diskGb: 2 });
    const rec = await qemuBackend.prepare(spec, base, f.ctx);
    const info = JSON.parse(
      (await execCommand(["qemu-img", "info", "--output=json", rec.overlay_path!])).stdout,
    );
    assertEquals(info["backing-filename"], img);
    assertEquals(info["backing-filename-format"], "qcow2");
    assertEquals(info["virtual-size"], 2 * 1024 ** 3);
    assert(/^52:54:00(:[0-9a-f]{2}){3}$/.test(rec.mac_addr!), rec.mac_addr!);
    assertEquals(rec.qmp_socket, join(base.work_dir, "qmp.sock"));
  } finally {
    await f.cleanup();
  }
});

Deno.test("prepare refuses a disk smaller than the base image and leaves no overlay", async () => {
  const f = await qemuFixture();
  try {
    const img = await blankImage(f.root, "big.qcow2", 3);
    const { spec, base } = await newVm(f, "vm1", img, { diskGb: 2 });
    await rejectsWith(qemuBackend.prepare(spec, base, f.ctx), "vmctl::qemu::disk_too_small");
    assertEquals([...Deno.readDirSync(base.work_dir)].length, 0);
  } finally {
    await f.cleanup();
  }
});

Deno.test("prepare refuses a base image whose header names a backing file", async () => {
  const f = await qemuFixture();
  try {
    const inner = await blankImage(f.root, "inner.qcow2");
    const evil = join(f.root, "evil.qcow2");
    await execCommand([
      "qemu-img",
      "create",
      "-q",
      "-f",
      "qcow2",
      "-F",
      "qcow2",
      "-b",
      inner,
      evil,
    ]);
    const { spec, base } = await newVm(f, "vm1", evil);
    await rejectsWith(qemuBackend.prepare(spec, base, f.ctx), "vmctl::image::has_backing_file");
  } finally {
    await f.cleanup();
  }
});

Deno.test("start, suspend, resume, refuse a second start, then stop escalates past ACPI", async () => {
  const f = await qemuFixture();
  let pid: number | null | undefined;
  try {
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img);
    let rec = await qemuBackend.prepare(spec, base, f.ctx);
    rec = await qemuBackend.start(rec, f.ctx);
    pid = rec.pid;
    assertEquals(rec.state, "running");
    assert(pid && pid > 1);
    // the SSH forward listens on loopback only
    assertEquals(await listensOn(rec.ssh_host_port!), ["0100007F"]);
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    assert(cmdline.includes("q35,accel=tcg") && !cmdline.includes("host"));
    assertEquals((await Deno.stat(rec.work_dir)).mode! & 0o777, 0o700);

    await rejectsWith(qemuBackend.start(rec, f.ctx), "vmctl::qemu::already_running");
    assertEquals((await qemuBackend.state(rec, f.ctx)).state, "running");

    rec = await qemuBackend.suspend(rec, f.ctx);
    assertEquals((await qemuBackend.state(rec, f.ctx)).state, "suspended");
    await rejectsWith(qemuBackend.start(rec, f.ctx), "vmctl::qemu::already_running");
    rec = await qemuBackend.resume(rec, f.ctx);
    assertEquals((await qemuBackend.state(rec, f.ctx)).state, "running");

    const t0 = Date.now();
    rec = await qemuBackend.stop(rec, 1_000, f.ctx);
    const took = Date.now() - t0;
    assertEquals(rec.state, "stopped");
    assert(took >= 1_000, `stop gave up after ${took} ms, before its 1 s grace period`);
    assert(!alive(pid), "QEMU is gone after stop");
    assert(!existsSync(rec.qmp_socket!), "sockets are cleaned up");
  } finally {
    killIfAlive(pid);
    await f.cleanup();
  }
});

Deno.test("a QEMU killed with SIGKILL is reported failed with the reason, then starts again", async () => {
  const f = await qemuFixture();
  let pid: number | null | undefined;
  try {
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img);
    let rec = await qemuBackend.start(await qemuBackend.prepare(spec, base, f.ctx), f.ctx);
    pid = rec.pid!;
    Deno.kill(pid, "SIGKILL");
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
    const st = await qemuBackend.state(rec, f.ctx);
    assertEquals(st.state, "failed");
    assert(st.reason?.includes("killed or crashed"), st.reason);
    rec = await qemuBackend.start({ ...rec, state: "failed" }, f.ctx);
    pid = rec.pid;
    assertEquals((await qemuBackend.state(rec, f.ctx)).state, "running");
    await qemuBackend.destroy(rec, f.ctx);
    assert(!alive(pid));
  } finally {
    killIfAlive(pid);
    await f.cleanup();
  }
});

Deno.test("a stale pidfile naming another process is never signalled", async () => {
  const f = await qemuFixture();
  const stranger = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img);
    const rec = await qemuBackend.prepare(spec, base, f.ctx);
    await Deno.writeTextFile(join(rec.work_dir, "qemu.pid"), `${stranger.pid}\n`);
    const running = { ...rec, state: "running" as const, pid: stranger.pid };
    const st = await qemuBackend.state(running, f.ctx);
    assertEquals(st.state, "failed");
    const stopped = await qemuBackend.stop(running, 500, f.ctx);
    assertEquals(stopped.state, "stopped");
    await qemuBackend.destroy(running, f.ctx);
    assert(alive(stranger.pid), "the stranger is still alive");
  } finally {
    stranger.kill("SIGKILL");
    await stranger.status;
    await f.cleanup();
  }
});

Deno.test("paths with commas and paths too long for a socket still start", async () => {
  const f = await qemuFixture(`a,b,file=x-${"long".repeat(20)}`);
  let pid: number | null | undefined;
  try {
    const img = await blankImage(f.root, "base,x.qcow2");
    const { spec, base } = await newVm(f, "vm1", img);
    let rec = await qemuBackend.prepare(spec, base, f.ctx);
    assert(!rec.qmp_socket!.startsWith(rec.work_dir), "sockets moved to a short runtime dir");
    assert(new TextEncoder().encode(rec.console_socket!).length <= 107);
    rec = await qemuBackend.start(rec, f.ctx);
    pid = rec.pid;
    assertEquals((await qemuBackend.state(rec, f.ctx)).state, "running");
    await qemuBackend.destroy(rec, f.ctx);
    assert(!existsSync(join(rec.qmp_socket!, "..")), "the runtime dir is released");
  } finally {
    killIfAlive(pid);
    await f.cleanup();
  }
});

Deno.test("start fails with QEMU's own message and leaves nothing running", async () => {
  const f = await qemuFixture();
  try {
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img);
    const rec = await qemuBackend.prepare(spec, base, f.ctx);
    const e = await rejectsWith(
      qemuBackend.start({ ...rec, memory_mb: 10_000_000_000 }, f.ctx),
      "vmctl::qemu::start_failed",
    );
    assert(e.details.join("\n").toLowerCase().includes("memory"), e.details.join("\n"));
    assert(!existsSync(join(rec.work_dir, "qemu.pid")));
  } finally {
    await f.cleanup();
  }
});

Deno.test("VNC is offered on 127.0.0.1 when asked, and UEFI boots a per-VM vars copy", async () => {
  const f = await qemuFixture();
  let pid: number | null | undefined;
  try {
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img, { vnc: true, uefi: true });
    let rec = await qemuBackend.prepare(spec, base, f.ctx);
    const vars = join(rec.work_dir, "efivars.fd");
    assertEquals((await Deno.stat(vars)).mode! & 0o777, 0o600);
    rec = await qemuBackend.start(rec, f.ctx);
    pid = rec.pid;
    assert(/^127\.0\.0\.1:59\d\d$/.test(rec.vnc_addr ?? ""), `vnc ${rec.vnc_addr}`);
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    assert(cmdline.includes(`if=pflash,format=raw,unit=1,file=${vars}`));
    await qemuBackend.destroy(rec, f.ctx);
  } finally {
    killIfAlive(pid);
    await f.cleanup();
  }
});

Deno.test("start refuses a taken SSH port, naming the owner and `--new-port`, and starts nothing", async () => {
  const f = await qemuFixture();
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img);
    const taken = (squatter.addr as Deno.NetAddr).port;
    const rec = { ...await qemuBackend.prepare(spec, base, f.ctx), ssh_host_port: taken };
    const e = await rejectsWith(qemuBackend.start(rec, f.ctx), "vmctl::net::port_taken");
    assertStringIncludes(e.message, `127.0.0.1:${taken}/tcp (the SSH forward)`);
    assertStringIncludes(e.message, `(pid ${Deno.pid})`);
    assertStringIncludes(e.hint!, "vmctl start vm1 --new-port");
    assertEquals(existsSync(join(base.work_dir, "qemu.pid")), false);
  } finally {
    squatter.close();
    await f.cleanup();
  }
});

Deno.test("start forwards each port on its address and shares folders over virtio-9p", async () => {
  const f = await qemuFixture();
  let pid: number | null | undefined;
  try {
    const img = await blankImage(f.root);
    const shared = join(f.root, "shared,dir");
    await Deno.mkdir(shared);
    const { spec, base } = await newVm(f, "vm1", img);
    const [web, dns] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const rec = await qemuBackend.start({
      ...await qemuBackend.prepare(spec, base, f.ctx),
      forwards: [
        { proto: "tcp", host_ip: "127.0.0.1", host_port: web, guest_port: 80 },
        { proto: "udp", host_ip: "127.0.0.1", host_port: dns, guest_port: 53 },
      ],
      mounts: [{ host_path: shared, guest_path: "/src", readonly: true }],
    }, f.ctx);
    pid = rec.pid;
    assertEquals(await listensOn(web), ["0100007F"]);
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    assert(
      cmdline.includes(
        `user,id=net0,hostfwd=tcp:127.0.0.1:${rec.ssh_host_port}-:22,hostfwd=tcp:127.0.0.1:${web}-:80,hostfwd=udp:127.0.0.1:${dns}-:53`,
      ),
    );
    assert(
      cmdline.includes(
        `local,id=fs0,path=${shared.replace(",", ",,")},security_model=none,readonly=on`,
      ),
    );
    assert(cmdline.includes("virtio-9p-pci,fsdev=fs0,mount_tag=vmctl0"));
    await qemuBackend.destroy(rec, f.ctx);
  } finally {
    killIfAlive(pid);
    await f.cleanup();
  }
});

function existsSync(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}
