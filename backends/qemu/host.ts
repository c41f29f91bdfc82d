/**
 * Host facts the QEMU backend needs: is a PID really this VM's QEMU, which
 * accelerator to use, where the OVMF firmware is, a short directory for
 * sockets.
 *
 * @module
 */
import { sleep } from "../../lib/async.ts";
import { join } from "../../lib/posix_path.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { isFile } from "../../lib/files.ts";
import { BRIDGE_NAME_PATTERN, BRIDGE_NAME_RULE } from "../../lib/names.ts";
import { env } from "../../lib/paths.ts";
import { log } from "../../lib/log.ts";
import type { Accel } from "../../lib/types.ts";
import { vmFile } from "../../lib/vm_files.ts";
import type { Runner } from "../exec.ts";
import { commandLine, sendSignal } from "../proc.ts";
import { host, isNotFound, isRuntimeRefusal } from "../../host/mod.ts";
import type { Signal } from "../../host/mod.ts";

/** Read `pidfile`; null when absent or not a number. */
export function readPidFile(pidFile: string): number | null {
  // Synchronous on purpose: `list` reads one per VM, and a sync read of a
  // tiny local file costs ~15 us where an async op round trip costs ~75 us.
  try {
    const n = Number(host.readTextFileSync(pidFile).trim());
    return Number.isInteger(n) && n > 1 ? n : null;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/**
 * True when `pid` is alive AND its command line names `pidFile` (QEMU was
 * started with `-pidfile <workdir>/qemu.pid`): a recycled PID of a stranger
 * never passes.
 */
export function isOurQemu(pid: number, pidFile: string): Promise<boolean> {
  const cmdline = commandLine(pid);
  return Promise.resolve(
    cmdline !== null && cmdline.includes(` -pidfile ${pidFile}`) && cmdline.includes("qemu-system"),
  );
}

/** Send `sig` to `pid`, ignoring a process that is already gone. */
export function signal(pid: number, sig: Signal): void {
  sendSignal(pid, sig);
}

/** Wait until `pid` is no longer our QEMU; true if it went within `timeoutMs`. */
export async function waitGone(pid: number, pidFile: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isOurQemu(pid, pidFile)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/** A random locally administered MAC in QEMU's 52:54:00 range. */
export function randomMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return ["52", "54", "00", ...[...b].map((x) => x.toString(16).padStart(2, "0"))].join(":");
}

/** Unix socket paths are limited to 107 bytes (sun_path). */
export const MAX_SOCKET_PATH = 107;

/**
 * Where a VM's sockets go: its work dir if the paths fit, else a short
 * private runtime dir ($XDG_RUNTIME_DIR or /tmp, `vmctl-<uid>/<id>`).
 */
export function socketDir(workDir: string, vmId: string): { dir: string; inWorkDir: boolean } {
  if (new TextEncoder().encode(vmFile(workDir, "consoleSocket")).length <= MAX_SOCKET_PATH) {
    return { dir: workDir, inWorkDir: true };
  }
  const base = env("XDG_RUNTIME_DIR") || "/tmp";
  const dir = join(base, `vmctl-${host.uid() ?? 0}`, vmId.replace(/^qemu-/, "").slice(0, 12));
  return { dir, inWorkDir: false };
}

/** Create `dir` (and its parent) 0700 and check nobody else owns the parent. */
export async function ensureRuntimeDir(dir: string): Promise<void> {
  const parent = join(dir, "..");
  await host.mkdir(parent, { recursive: true, mode: 0o700 });
  const st = await host.stat(parent);
  if (st.uid !== host.uid() || ((st.mode ?? 0) & 0o077) !== 0) {
    throw new Diagnostic("vmctl::qemu::unsafe_runtime_dir", `${parent} is not private to you`, {
      hint: "remove it or set XDG_RUNTIME_DIR to a private directory",
    });
  }
  await host.mkdir(dir, { recursive: true, mode: 0o700 });
}

// The KVM probe: a boot sector SeaBIOS loads from a virtio disk on q35 (as for a real VM); it
// enters 32-bit protected mode, writes above 1 MiB, drops back to real mode, calls the BIOS
// (int 10h, int 13h) like a bootloader does, and reports 0x31 on the isa-debug-exit port (QEMU
// exits with (0x31 << 1) | 1 = 99). The nasm source is in docs/qemu.md.
const KVM_PROBE_HEX =
  "fa31c08ed88ed0bc00700f0116907c0f20c00c010f22c0ea1c7c080066b810008ed88ec08ed0c705000010" +
  "0078563412ea377c00001800b820008ed88ec08ed00f20c024fe0f22c0ea4d7c000031c08ed88ec08ed0fb" +
  "b40eb04bcd10b408b280cd13fab031e6f4f40000000000000000ffff0000009acf00ffff00000092cf00ff" +
  "ff0000009a0000ffff0000009200002700687c";

/** Where the KVM decision came from, for the one-line notice. */
export interface AccelChoice {
  accel: "kvm" | "tcg";
  notice?: string;
}

/**
 * Resolve kvm|tcg|auto. `auto` uses KVM only when /dev/kvm opens read-write
 * AND a probe guest runs under it promptly (SeaBIOS boots a sector from a
 * virtio disk on q35 that switches modes like a bootloader and exits through
 * isa-debug-exit, within 3 s); otherwise TCG, with a one-line notice saying
 * why. The verdict is cached per host boot in `cacheFile`. `host` replaces
 * the device check and the probe (tests drive both branches on any machine).
 */
export async function chooseAccel(
  want: Accel,
  runner: Runner,
  scratchDir: string,
  cacheFile?: string,
  kvm: KvmHost = REAL_KVM_HOST,
): Promise<AccelChoice> {
  if (want === "tcg") return { accel: "tcg" };
  const dev = kvm.deviceProblem();
  if (want === "kvm") {
    if (dev) {
      throw new Diagnostic("vmctl::qemu::kvm_unavailable", `KVM was asked for but ${dev}`, {
        hint: "use --accel tcg (slow, but works everywhere) or fix /dev/kvm access",
      });
    }
    return { accel: "kvm" };
  }
  if (dev) return { accel: "tcg", notice: `KVM not usable (${dev}); using TCG (slower)` };
  const probe = await cachedProbe(runner, scratchDir, cacheFile, kvm);
  if (probe) return { accel: "tcg", notice: `KVM not usable (${probe}); using TCG (slower)` };
  return { accel: "kvm" };
}

/** How this host's KVM is examined: the device check and the probe guest. */
export interface KvmHost {
  /** Why /dev/kvm cannot be used, or null. */
  deviceProblem(): string | null;
  /** Run a probe guest under KVM: null when it worked, else why not. */
  probe(runner: Runner, scratchDir: string): Promise<string | null>;
}

/** The real /dev/kvm and the real probe guest. */
export const REAL_KVM_HOST: KvmHost = {
  deviceProblem: () => kvmDeviceProblem(),
  probe: (runner, scratchDir) => probeKvm(runner, scratchDir),
};

/** How long the probe guest may take under KVM: well under 1 s where KVM works. */
export const KVM_PROBE_TIMEOUT_MS = 3_000;

/** The probe's verdict, remembered per host boot (a probe costs up to 3 s). */
async function cachedProbe(
  runner: Runner,
  scratchDir: string,
  cacheFile: string | undefined,
  kvm: KvmHost,
): Promise<string | null> {
  const bootId = await hostBootId();
  if (cacheFile && bootId) {
    try {
      const c = JSON.parse(await host.readTextFile(cacheFile));
      if (c.boot_id === bootId && (c.problem === null || typeof c.problem === "string")) {
        return c.problem;
      }
    } catch { /* no cache yet */ }
  }
  const problem = await kvm.probe(runner, scratchDir);
  if (cacheFile && bootId) {
    await host.writeTextFile(cacheFile, JSON.stringify({ boot_id: bootId, problem }) + "\n", {
      mode: 0o600,
    }).catch(() => {});
  }
  return problem;
}

/**
 * Why /dev/kvm cannot be used, or null. Deno refuses /dev without
 * --allow-all; then existence is all we can see, and QEMU itself (the probe,
 * or the start) reports a device it cannot open.
 */
function kvmDeviceProblem(): string | null {
  try {
    host.openSync("/dev/kvm", { read: true, write: true }).close();
    return null;
  } catch (err) {
    if (isNotFound(err)) return "/dev/kvm does not exist";
    if (isRuntimeRefusal(err)) return null;
    return `/dev/kvm cannot be opened: ${err instanceof Error ? err.message : err}`;
  }
}

/**
 * An identifier of this host boot, to cache the KVM probe's verdict: the
 * kernel's boot_id, or (when Deno refuses /proc) the boot time to the minute.
 */
async function hostBootId(): Promise<string | null> {
  try {
    return (await host.readTextFile("/proc/sys/kernel/random/boot_id")).trim();
  } catch {
    try {
      return `boot-${Math.round((Date.now() / 1000 - host.osUptime()) / 60)}`;
    } catch {
      return null;
    }
  }
}

/** Run the probe guest under KVM; null when it worked, else why not. */
async function probeKvm(runner: Runner, scratchDir: string): Promise<string | null> {
  const img = join(scratchDir, "kvm-probe.img");
  // SeaBIOS skips a virtio disk of only one sector: make it 1 MiB.
  const disk = new Uint8Array(1024 * 1024);
  disk.set(KVM_PROBE_HEX.match(/../g)!.map((h) => parseInt(h, 16)));
  disk[510] = 0x55;
  disk[511] = 0xaa;
  await host.writeFile(img, disk, { mode: 0o600 });
  try {
    const res = await runner.run([
      "qemu-system-x86_64",
      "-machine",
      "q35,accel=kvm",
      "-cpu",
      "host",
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-m",
      "64",
      "-device",
      "isa-debug-exit,iobase=0xf4,iosize=0x04",
      "-drive",
      `file=${img.replaceAll(",", ",,")},format=raw,if=none,id=probe0`,
      "-device",
      "virtio-blk-pci,drive=probe0",
    ], { check: false, timeoutMs: KVM_PROBE_TIMEOUT_MS }).catch((e) => e as Error);
    if (res instanceof Error) {
      return `a probe guest did not finish in ${KVM_PROBE_TIMEOUT_MS / 1000} s under KVM`;
    }
    if (res.code === 99) return null;
    const why = res.stderr.trim().split("\n").pop() ?? "";
    log.debug(`kvm probe: exit ${res.code}: ${res.stderr}`);
    return `the KVM probe guest failed${why ? `: ${why}` : ` (exit ${res.code})`}`;
  } finally {
    await host.remove(img).catch(() => {});
  }
}

/** OVMF code images, first existing wins; each paired with the vars template of the same size. */
const OVMF_PAIRS: [string, string][] = [
  ["/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"], // Debian 12, Ubuntu
  ["/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"], // Debian, older Ubuntu
  ["/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"], // Fedora
  ["/usr/share/edk2/x64/OVMF_CODE.4m.fd", "/usr/share/edk2/x64/OVMF_VARS.4m.fd"], // Arch
  ["/usr/share/edk2-ovmf/x64/OVMF_CODE.fd", "/usr/share/edk2-ovmf/x64/OVMF_VARS.fd"], // Arch (old)
];

/** The first OVMF code/vars pair present on this host, or a diagnostic naming where we looked. */
export function findOvmf(): { code: string; vars: string } {
  for (const [code, vars] of OVMF_PAIRS) {
    if (isFile(code) && isFile(vars)) return { code, vars };
  }
  throw new Diagnostic(
    "vmctl::qemu::no_ovmf",
    "UEFI was asked for but no OVMF firmware was found",
    {
      hint: "install the `ovmf` package (Debian/Ubuntu), `edk2-ovmf` (Fedora/Arch)",
      details: OVMF_PAIRS.map(([c]) => `looked for ${c}`),
    },
  );
}

/** qemu-bridge-helper locations (Debian/Ubuntu, Fedora, Arch). */
const BRIDGE_HELPERS = [
  "/usr/lib/qemu/qemu-bridge-helper",
  "/usr/libexec/qemu-bridge-helper",
  "/usr/lib/qemu-bridge-helper",
];

/**
 * The bridge helper, after checking /etc/qemu/bridge.conf allows `bridge`:
 * QEMU's `br=` only attaches the tap through this setuid helper.
 */
export function bridgeHelper(bridge: string): string {
  if (!BRIDGE_NAME_PATTERN.test(bridge)) {
    throw new Diagnostic("vmctl::qemu::bad_bridge", `\`${bridge}\` is not a bridge name`, {
      hint: `use ${BRIDGE_NAME_RULE}`,
    });
  }
  const helper = BRIDGE_HELPERS.find(isFile);
  if (!helper) {
    throw new Diagnostic("vmctl::qemu::no_bridge_helper", "qemu-bridge-helper was not found", {
      hint: "install qemu-system-common (it ships /usr/lib/qemu/qemu-bridge-helper)",
    });
  }
  let conf = "";
  try {
    conf = host.readTextFileSync("/etc/qemu/bridge.conf");
  } catch { /* missing: reported below */ }
  const allowed = conf.split("\n").map((l) => l.trim()).some((l) =>
    l === `allow ${bridge}` || l === "allow all"
  );
  if (!allowed) {
    throw new Diagnostic(
      "vmctl::qemu::bridge_not_allowed",
      `bridge ${bridge} is not allowed in /etc/qemu/bridge.conf`,
      { hint: `add the line \`allow ${bridge}\` to /etc/qemu/bridge.conf (as root)` },
    );
  }
  return helper;
}
