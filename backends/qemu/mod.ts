/**
 * The QEMU backend (Linux): one daemonized `qemu-system-x86_64` per VM,
 * driven over QMP. Its files live in the VM's work dir (0700), named in
 * lib/vm_files.ts: overlay, seed, UEFI vars, pidfile, console log and, when
 * the path fits in 107 bytes, the QMP and console sockets (else a private
 * runtime dir).
 *
 * A PID is signalled only after /proc/PID/cmdline proves it is this VM's
 * QEMU (it names the VM's pidfile), so a stale pidfile never kills a stranger.
 *
 * @module
 */
import { join } from "../../lib/posix_path.ts";
import { accelFromEnv, DEFAULT_ACCEL } from "../../lib/defaults.ts";
import { describeFileProblem, dirProblem, logTail } from "../../lib/files.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { log } from "../../lib/log.ts";
import { connectQmp, queryVnc } from "../../lib/qmp.ts";
import type { Accel, VmRecord } from "../../lib/types.ts";
import { vmFile } from "../../lib/vm_files.ts";
import type { BackendContext, Hypervisor, StartOptions, StateReport } from "../hypervisor.ts";
import { buildQemuArgv } from "./argv.ts";
import { createOverlay } from "./img.ts";
import {
  bridgeHelper,
  chooseAccel,
  ensureRuntimeDir,
  findOvmf,
  isOurQemu,
  randomMac,
  readPidFile,
  socketDir,
} from "./host.ts";
import { discoverTapIp } from "./network.ts";
import { liveQemu, stopQemu } from "./process.ts";
import { closeAllMasters } from "../ssh/exec.ts";
import { pidFileOf, requireField } from "./record.ts";
import { qemuSnapshots } from "./snapshot.ts";
import { host } from "../../host/mod.ts";
import {
  forwardWanted,
  portOwner,
  portTaken,
  requirePortsFree,
  type WantedPort,
} from "../ports.ts";

/** The accelerator to ask for: --accel, then the record (unless auto), then VMCTL_ACCEL, else auto. */
function wantedAccel(vm: VmRecord, override?: Accel): Accel {
  if (override) return override;
  if (vm.accel && vm.accel !== "auto") return vm.accel;
  return accelFromEnv() ?? DEFAULT_ACCEL;
}

async function prepare(
  spec: Parameters<Hypervisor["prepare"]>[0],
  base: VmRecord,
  ctx: BackendContext,
): Promise<VmRecord> {
  const workDir = base.work_dir;
  const overlay = vmFile(workDir, "overlay");
  if (!spec.imagePath) {
    throw new Diagnostic("vmctl::qemu::no_image", "the QEMU backend needs a base image", {
      hint: "give --image PATH or --image-url URL",
    });
  }
  await createOverlay(ctx.runner, spec.imagePath, overlay, spec.diskGb);
  let efivars: string | null = null;
  try {
    if (spec.uefi) {
      const fw = findOvmf();
      efivars = vmFile(workDir, "efivars");
      await host.writeFile(efivars, await host.readFile(fw.vars), { mode: 0o600 });
    }
    if (spec.network.type === "tap") bridgeHelper(spec.network.bridge);
    if (spec.network.type === "vnic") {
      throw new Diagnostic("vmctl::qemu::vnic_unsupported", "vnic networking is illumos-only", {
        hint: 'on Linux use `network "user"` or `network "tap" bridge="br0"`',
      });
    }
  } catch (err) {
    await host.remove(overlay).catch(() => {});
    if (efivars) await host.remove(efivars).catch(() => {});
    throw err;
  }
  const sockets = socketDir(workDir, base.id);
  return {
    ...base,
    image_path: spec.imagePath,
    overlay_path: overlay,
    qmp_socket: vmFile(sockets.dir, "qmpSocket"),
    console_socket: vmFile(sockets.dir, "consoleSocket"),
    console_log: vmFile(workDir, "consoleLog"),
    efivars_path: efivars,
    mac_addr: randomMac(),
    pid: null,
    vnc_addr: null,
    vnc: spec.vnc,
    uefi: spec.uefi,
    accel: spec.accel,
  };
}

/** Remove sockets/pidfile a dead QEMU left behind (only ever called with no live QEMU). */
async function clearLeftovers(vm: VmRecord): Promise<void> {
  for (const p of [vm.qmp_socket, vm.console_socket, pidFileOf(vm)]) {
    if (p) await host.remove(p).catch(() => {});
  }
}

async function start(
  vm: VmRecord,
  ctx: BackendContext,
  opts: StartOptions = {},
): Promise<VmRecord> {
  const overlay = requireField(vm, vm.overlay_path, "overlay disk");
  const qmpSocket = requireField(vm, vm.qmp_socket, "QMP socket path");
  const consoleSocket = requireField(vm, vm.console_socket, "console socket path");
  const pidFile = pidFileOf(vm);
  const live = await liveQemu(vm, pidFile);
  if (live) {
    throw new Diagnostic(
      "vmctl::qemu::already_running",
      `VM '${vm.name}' already has a QEMU (pid ${live})`,
      { hint: `stop it first: vmctl stop ${vm.name}` },
    );
  }
  await clearLeftovers(vm);
  if (!vm.qmp_socket?.startsWith(vm.work_dir + "/")) {
    await ensureRuntimeDir(join(qmpSocket, ".."));
  }
  const choice = await chooseAccel(
    wantedAccel(vm, opts.accel),
    ctx.runner,
    vm.work_dir,
    ctx.paths.kvmProbeCache,
  );
  if (choice.notice) log.warn(choice.notice);
  const firmware = vm.uefi
    ? { code: findOvmf().code, vars: requireField(vm, vm.efivars_path as string, "UEFI vars") }
    : undefined;
  const helper = vm.network.type === "tap" ? bridgeHelper(vm.network.bridge) : undefined;

  const port = vm.network.type === "user" ? requirePort(vm) : undefined;
  const wanted = wantedPorts(vm, port);
  await requirePortsFree(ctx.runner, wanted);
  requireMountDirs(vm);
  const argv = buildQemuArgv({
    name: vm.name,
    accel: choice.accel,
    vcpus: vm.vcpus,
    memoryMb: vm.memory_mb,
    overlayPath: overlay,
    seedIsoPath: vm.seed_iso_path,
    qmpSocket,
    consoleSocket,
    consoleLog: requireField(vm, vm.console_log, "console log path"),
    pidFile,
    network: vm.network,
    mac: requireField(vm, vm.mac_addr, "MAC address"),
    sshHostPort: port,
    sshGuestPort: vm.ssh_port ?? undefined,
    forwards: vm.forwards ?? [],
    mounts: vm.mounts ?? [],
    bridgeHelper: helper,
    vnc: vm.vnc === true,
    firmware,
    loadvm: opts.loadvm,
  });
  const res = await ctx.runner.run(argv, { check: false, timeoutMs: 60_000 });
  if (res.code === 0) return await afterLaunch(vm, pidFile, choice.accel);
  await clearLeftovers(vm);
  // Something took a port between the check and QEMU's bind: name it, never pick another.
  const taken = takenPort(res.stderr, wanted);
  if (taken) throw portTaken(taken, await portOwner(ctx.runner, taken.proto, taken.host_port));
  throw await launchError(vm, res.stderr);
}

function requirePort(vm: VmRecord): number {
  if (vm.ssh_host_port) return vm.ssh_host_port;
  throw new Diagnostic("vmctl::qemu::incomplete_record", `VM '${vm.name}' has no SSH port`, {
    hint: `give it one: vmctl start ${vm.name} --new-port`,
  });
}

/** The host ports this start binds: the SSH forward, then the forwards. */
function wantedPorts(vm: VmRecord, sshPort: number | undefined): WantedPort[] {
  if (sshPort === undefined) return [];
  return [
    {
      proto: "tcp",
      host_ip: "127.0.0.1",
      host_port: sshPort,
      what: "the SSH forward",
      hint:
        `stop what holds it, or give VM '${vm.name}' another SSH port: vmctl start ${vm.name} --new-port`,
    },
    ...(vm.forwards ?? []).map(forwardWanted),
  ];
}

/** The wanted port of QEMU's "Could not set up host forwarding rule 'tcp:IP:PORT-:GUEST'". */
function takenPort(stderr: string, wanted: WantedPort[]): WantedPort | undefined {
  const m = /Could not set up host forwarding rule '(tcp|udp):([^:]*):(\d+)-/.exec(stderr);
  if (!m) return undefined;
  return wanted.find((w) => w.proto === m[1] && w.host_port === Number(m[3]));
}

/** Every shared folder's host side must be a directory (QEMU's own message is obscure). */
function requireMountDirs(vm: VmRecord): void {
  for (const m of vm.mounts ?? []) {
    const problem = dirProblem(m.host_path);
    if (!problem) continue;
    throw new Diagnostic(
      "vmctl::qemu::mount_source",
      describeFileProblem(problem, "shared folder", m.host_path),
      { hint: `create it, or recreate VM '${vm.name}' without the mount` },
    );
  }
}

async function launchError(vm: VmRecord, stderr: string): Promise<Diagnostic> {
  const tail = (vm.console_log && await logTail(vm.console_log, 10)) || [];
  return new Diagnostic("vmctl::qemu::start_failed", `QEMU could not start VM '${vm.name}'`, {
    hint: `QEMU's own message is above; \`vmctl log ${vm.name} --console\` shows the serial log`,
    details: [
      ...stderr.trim().split("\n").filter(Boolean).slice(-10),
      ...(tail.length ? ["last console lines:", ...tail] : []),
    ],
  });
}

/** QEMU daemonized: read its PID, check it over QMP, record where things are. */
async function afterLaunch(
  vm: VmRecord,
  pidFile: string,
  accel: "kvm" | "tcg",
): Promise<VmRecord> {
  const pid = readPidFile(pidFile);
  try {
    if (!pid || !(await isOurQemu(pid, pidFile))) {
      throw await launchError(vm, "QEMU exited right after starting");
    }
    const qmp = await connectQmp(vm.qmp_socket!, { retry: true, timeoutMs: 10_000 });
    let vnc: string | null = null;
    try {
      await qmp.execute("query-status");
      if (vm.vnc) vnc = await queryVnc(qmp);
    } finally {
      qmp.close();
    }
    return {
      ...vm,
      state: "running",
      state_reason: null,
      pid,
      vnc_addr: vnc,
      accel_in_use: accel,
    };
  } catch (err) {
    // never leave an untracked QEMU behind
    if (pid) await stopQemu(vm, pid, pidFile, 0).catch(() => {});
    await clearLeftovers(vm);
    throw err;
  }
}

async function stop(
  vm: VmRecord,
  timeoutMs: number,
  _ctx: BackendContext,
  o: { quit?: boolean } = {},
): Promise<VmRecord> {
  await closeAllMasters(vm.work_dir);
  const pidFile = pidFileOf(vm);
  const pid = await liveQemu(vm, pidFile);
  if (pid) await stopQemu(vm, pid, pidFile, timeoutMs, o.quit ? "quit" : "system_powerdown");
  await clearLeftovers(vm);
  return {
    ...vm,
    state: "stopped",
    state_reason: null,
    pid: null,
    vnc_addr: null,
  };
}

async function qmpOnRunning(
  vm: VmRecord,
  command: string,
  need: "running" | "suspended",
): Promise<void> {
  const st = await state(vm);
  if (st.state !== need) {
    throw new Diagnostic(
      "vmctl::qemu::wrong_state",
      `VM '${vm.name}' is ${st.state}, not ${need}${st.reason ? ` (${st.reason})` : ""}`,
      { hint: need === "running" ? `start it: vmctl start ${vm.name}` : "it is not suspended" },
    );
  }
  const qmp = await connectQmp(vm.qmp_socket!, { timeoutMs: 5_000 });
  try {
    await qmp.execute(command);
  } finally {
    qmp.close();
  }
}

async function state(vm: VmRecord): Promise<StateReport> {
  if (atRest(vm)) return { state: vm.state, pid: null, reason: vm.state_reason ?? undefined };
  const pidFile = pidFileOf(vm);
  const pid = await liveQemu(vm, pidFile);
  if (pid) {
    let status = "unknown";
    try {
      const qmp = await connectQmp(vm.qmp_socket!, { timeoutMs: 2_000 });
      try {
        status = (await qmp.execute<{ status: string }>("query-status")).status;
      } finally {
        qmp.close();
      }
    } catch (err) {
      // QMP serves one client at a time: a busy socket is not a dead VM.
      const reason = err instanceof Diagnostic ? err.message : String(err);
      return { state: vm.state === "suspended" ? "suspended" : "running", pid, reason };
    }
    if (status === "paused" || status === "suspended") return { state: "suspended", pid };
    if (["internal-error", "guest-panicked", "io-error", "shutdown"].includes(status)) {
      return { state: "failed", pid, reason: `QEMU reports the guest ${status}` };
    }
    return { state: "running", pid };
  }
  if (vm.state !== "running" && vm.state !== "suspended") {
    return { state: vm.state, pid: null, reason: vm.state_reason ?? undefined };
  }
  let stalePid: number | null = null;
  try {
    stalePid = readPidFile(pidFile);
  } catch { /* unreadable: treat as absent */ }
  if (stalePid !== null) {
    // QEMU removes its pidfile on a clean exit: one left behind means it was killed or crashed.
    return {
      state: "failed",
      pid: null,
      reason: `QEMU (pid ${stalePid}) died without vmctl stopping it (killed or crashed)`,
    };
  }
  return { state: "stopped", pid: null, reason: "QEMU exited (the guest powered off)" };
}

/**
 * A record that vmctl left stopped, prepared or failed, with no PID and no
 * operation in flight (nor one left behind by a killed vmctl, which may have
 * started QEMU before it died), has no QEMU: `list` skips the pidfile probe
 * for it.
 */
function atRest(vm: VmRecord): boolean {
  return vm.state !== "running" && vm.state !== "suspended" && !vm.pid && !vm.operation;
}

async function destroy(vm: VmRecord, _ctx: BackendContext): Promise<void> {
  await closeAllMasters(vm.work_dir);
  const pidFile = pidFileOf(vm);
  const pid = await liveQemu(vm, pidFile);
  // The disk is about to be deleted, so there is nothing to shut down gracefully: quit at once.
  if (pid) await stopQemu(vm, pid, pidFile, 0, "quit");
  await clearLeftovers(vm);
  const sockDir = vm.qmp_socket ? join(vm.qmp_socket, "..") : null;
  if (sockDir && !sockDir.startsWith(vm.work_dir)) await host.remove(sockDir).catch(() => {});
}

async function guestIp(vm: VmRecord, ctx: BackendContext, timeoutMs = 60_000) {
  switch (vm.network.type) {
    case "user": {
      return { host: "127.0.0.1", port: requirePort(vm) };
    }
    case "tap": {
      const mac = requireField(vm, vm.mac_addr, "MAC address");
      return {
        host: await discoverTapIp(ctx.runner, mac, vm.network.bridge, timeoutMs),
        port: vm.ssh_port ?? 22,
      };
    }
    default:
      throw new Diagnostic("vmctl::qemu::no_network", `VM '${vm.name}' has no network`, {
        hint: "recreate it with user or tap networking to reach it over SSH",
      });
  }
}

/** The QEMU {@link Hypervisor}. */
export const qemuBackend: Hypervisor = {
  tag: "qemu",
  prepare,
  start,
  stop,
  async suspend(vm) {
    await qmpOnRunning(vm, "stop", "running");
    return { ...vm, state: "suspended", state_reason: null };
  },
  async resume(vm) {
    await qmpOnRunning(vm, "cont", "suspended");
    return { ...vm, state: "running", state_reason: null };
  },
  destroy,
  state: (vm) => state(vm),
  guestIp,
  consoleEndpoint(vm) {
    return vm.console_socket
      ? { kind: "unix", path: vm.console_socket }
      : { kind: "none", reason: "the VM record has no console socket" };
  },
  snapshots: qemuSnapshots,
};
