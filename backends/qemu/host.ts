/**
 * Host facts the QEMU backend needs: is a PID really this VM's QEMU, which
 * accelerator to use, where the OVMF firmware is, a free loopback port, a
 * short directory for sockets.
 *
 * @module
 */
import { join } from "node:path";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { env } from "../../lib/paths.ts";
import { log } from "../../lib/log.ts";
import type { Accel } from "../../lib/types.ts";
import type { Runner } from "../exec.ts";

/** Read `pidfile`; null when absent or not a number. */
export async function readPidFile(pidFile: string): Promise<number | null> {
  try {
    const n = Number((await Deno.readTextFile(pidFile)).trim());
    return Number.isInteger(n) && n > 1 ? n : null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * True when `pid` is alive AND its command line names `pidFile` (QEMU was
 * started with `-pidfile <workdir>/qemu.pid`): a recycled PID of a stranger
 * never passes.
 */
export async function isOurQemu(pid: number, pidFile: string): Promise<boolean> {
  let cmdline: string;
  try {
    cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`);
  } catch {
    return false;
  }
  if (cmdline === "") return false; // zombie or kernel thread
  const args = cmdline.split("\0");
  return args.includes(pidFile) && args.some((a) => a.includes("qemu-system"));
}

/** Send `sig` to `pid`, ignoring a process that is already gone. */
export function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
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

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Ask the OS for a free TCP port on 127.0.0.1. */
export function freeLoopbackPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
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
  if (new TextEncoder().encode(join(workDir, "console.sock")).length <= MAX_SOCKET_PATH) {
    return { dir: workDir, inWorkDir: true };
  }
  const base = env("XDG_RUNTIME_DIR") || "/tmp";
  const dir = join(base, `vmctl-${Deno.uid() ?? 0}`, vmId.replace(/^qemu-/, "").slice(0, 12));
  return { dir, inWorkDir: false };
}

/** Create `dir` (and its parent) 0700 and check nobody else owns the parent. */
export async function ensureRuntimeDir(dir: string): Promise<void> {
  const parent = join(dir, "..");
  await Deno.mkdir(parent, { recursive: true, mode: 0o700 });
  const st = await Deno.stat(parent);
  if (st.uid !== Deno.uid() || ((st.mode ?? 0) & 0o077) !== 0) {
    throw new Diagnostic("vmctl::qemu::unsafe_runtime_dir", `${parent} is not private to you`, {
      hint: "remove it or set XDG_RUNTIME_DIR to a private directory",
    });
  }
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
}

// A 512-byte boot sector: real mode -> 32-bit protected mode, write and read back memory above
// 1 MiB, then report 0x31 on the isa-debug-exit port (QEMU exits with (0x31 << 1) | 1 = 99).
// Assembled from the nasm source in docs/qemu.md.
const KVM_PROBE_HEX = "fa31c08ed80f01165b7c0f20c00c010f22c0ea177c080066b810008ed88ed0bc0070" +
  "0000c7050000100078563412a1000010003d785634127504b031e6f4b032e6f4f40000000000000000ffff00" +
  "00009acf00ffff00000092cf001700437c";

/** Where the KVM decision came from, for the one-line notice. */
export interface AccelChoice {
  accel: "kvm" | "tcg";
  notice?: string;
}

/**
 * Resolve kvm|tcg|auto. `auto` uses KVM only when /dev/kvm opens read-write
 * AND a probe guest actually runs under it (SeaBIOS boots a sector that
 * enters protected mode and exits through isa-debug-exit); otherwise TCG,
 * with a one-line notice saying why.
 */
export async function chooseAccel(
  want: Accel,
  runner: Runner,
  scratchDir: string,
): Promise<AccelChoice> {
  if (want === "tcg") return { accel: "tcg" };
  const dev = kvmDeviceProblem();
  if (want === "kvm") {
    if (dev) {
      throw new Diagnostic("vmctl::qemu::kvm_unavailable", `KVM was asked for but ${dev}`, {
        hint: "use --accel tcg (slow, but works everywhere) or fix /dev/kvm access",
      });
    }
    return { accel: "kvm" };
  }
  if (dev) return { accel: "tcg", notice: `KVM not usable (${dev}); using TCG (slower)` };
  const probe = await probeKvm(runner, scratchDir);
  if (probe) return { accel: "tcg", notice: `KVM not usable (${probe}); using TCG (slower)` };
  return { accel: "kvm" };
}

function kvmDeviceProblem(): string | null {
  try {
    Deno.openSync("/dev/kvm", { read: true, write: true }).close();
    return null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "/dev/kvm does not exist";
    return `/dev/kvm cannot be opened: ${err instanceof Error ? err.message : err}`;
  }
}

/** Run the probe guest under KVM; null when it worked, else why not. */
async function probeKvm(runner: Runner, scratchDir: string): Promise<string | null> {
  const img = join(scratchDir, "kvm-probe.img");
  const sector = new Uint8Array(512);
  const code = KVM_PROBE_HEX.match(/../g)!.map((h) => parseInt(h, 16));
  sector.set(code);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  await Deno.writeFile(img, sector, { mode: 0o600 });
  try {
    const res = await runner.run([
      "qemu-system-x86_64",
      "-machine",
      "pc,accel=kvm",
      "-cpu",
      "host",
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-m",
      "16",
      "-device",
      "isa-debug-exit,iobase=0xf4,iosize=0x04",
      "-drive",
      `file=${img.replaceAll(",", ",,")},format=raw,if=ide`,
    ], { check: false, timeoutMs: 5_000, readOnly: true }).catch((e) => e as Error);
    if (res instanceof Error) return "the KVM probe guest hung";
    if (res.code === 99) return null;
    const why = res.stderr.trim().split("\n").pop() ?? "";
    log.debug(`kvm probe: exit ${res.code}: ${res.stderr}`);
    return `the KVM probe guest failed${why ? `: ${why}` : ` (exit ${res.code})`}`;
  } finally {
    await Deno.remove(img).catch(() => {});
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

function isFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
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
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) {
    throw new Diagnostic("vmctl::qemu::bad_bridge", `\`${bridge}\` is not a bridge name`, {
      hint: "Linux interface names are 1-15 letters, digits, '_', '.' or '-'",
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
    conf = Deno.readTextFileSync("/etc/qemu/bridge.conf");
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
