/**
 * Helpers for the QEMU backend tests: an isolated data dir, a base image, and
 * a record shaped the way the create flow hands it to `prepare`.
 *
 * A blank qcow2 is a real guest for most lifecycle behaviour: SeaBIOS finds
 * nothing to boot and idles, QEMU answers QMP, and the "guest" ignores ACPI
 * power-off (the escalation path).
 *
 * @module
 */
import { freeLoopbackPort } from "../../backends/ports.ts";
import { join } from "node:path";
import { createRunner, execCommand } from "../../backends/exec.ts";
import type { BackendContext } from "../../backends/hypervisor.ts";
import { type DataPaths, pathsUnder } from "../../lib/paths.ts";
import type { VmRecord, VmSpec } from "../../lib/types.ts";

export interface QemuFixture {
  root: string;
  paths: DataPaths;
  ctx: BackendContext;
  /** Remove everything (call in finally). */
  cleanup(): Promise<void>;
}

/** A fresh data dir under a temp root; `dataDirName` lets tests put commas or length into it. */
export async function qemuFixture(dataDirName = "data"): Promise<QemuFixture> {
  const root = await Deno.makeTempDir({ prefix: "vmctl-qemu-" });
  const dataDir = join(root, dataDirName, "vmctl");
  const paths = pathsUnder(dataDir);
  await Deno.mkdir(paths.vmsDir, { recursive: true, mode: 0o700 });
  return {
    root,
    paths,
    ctx: { paths, runner: createRunner() },
    cleanup: () => Deno.remove(root, { recursive: true }),
  };
}

/** A blank qcow2 base image of `sizeGb` GiB. */
export async function blankImage(dir: string, name = "blank.qcow2", sizeGb = 1): Promise<string> {
  const p = join(dir, name);
  await execCommand(["qemu-img", "create", "-q", "-f", "qcow2", p, `${sizeGb}G`]);
  return p;
}

/** The spec + base record the create flow would pass to prepare (work dir created 0700). */
export async function newVm(
  f: QemuFixture,
  name: string,
  image: string,
  over: Partial<VmSpec> = {},
): Promise<{ spec: VmSpec; base: VmRecord }> {
  const workDir = join(f.paths.vmsDir, name);
  await Deno.mkdir(workDir, { mode: 0o700 });
  const spec: VmSpec = {
    name,
    backend: "qemu",
    image: { kind: "path", path: image },
    sshUser: "vm",
    imagePath: image,
    vcpus: 1,
    memoryMb: 128,
    network: { type: "user" },
    uefi: false,
    accel: "tcg",
    vnc: false,
    ...over,
  };
  const base: VmRecord = {
    id: `qemu-${crypto.randomUUID()}`,
    name,
    backend: "qemu",
    state: "failed",
    work_dir: workDir,
    seed_iso_path: null,
    vcpus: spec.vcpus,
    memory_mb: spec.memoryMb,
    network: spec.network,
    accel: spec.accel,
    ssh_host_port: spec.network.type === "user" ? await freeLoopbackPort() : null,
    created_at: new Date().toISOString(),
  };
  return { spec, base };
}

/** True when something listens on TCP `port` at exactly `addrHex` (/proc/net/tcp form). */
export async function listensOn(port: number): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/net/tcp");
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return text.split("\n").slice(1).map((l) => l.trim().split(/\s+/)).filter((f) =>
    f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A"
  ).map((f) => f[1].split(":")[0]);
}

/** Kill whatever QEMU a test left behind (by the record's pid only). */
export function killIfAlive(pid: number | null | undefined): void {
  if (!pid) return;
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* gone */ }
}

/** True while `pid` runs (a zombie waiting for init to reap it counts as gone). */
export function alive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
