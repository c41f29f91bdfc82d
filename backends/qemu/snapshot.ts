/**
 * Internal qcow2 snapshots of a VM's overlay. A running (or paused) VM is
 * snapshotted through QMP jobs (`snapshot-save` / `snapshot-load` /
 * `snapshot-delete`, or `blockdev-snapshot-internal-sync` for a disk-only
 * snapshot), a stopped one with `qemu-img snapshot`. Only the overlay node is
 * named, so the base image and the read-only seed are never written.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { sleep } from "../../lib/async.ts";
import { connectQmp, type QmpClient } from "../../lib/qmp.ts";
import type { ImageSnapshot } from "../../lib/snapshots.ts";
import type { SnapshotOrigin, VmRecord } from "../../lib/types.ts";
import type { Runner } from "../exec.ts";
import type { BackendContext, SnapshotOps } from "../hypervisor.ts";
import { imageInfo } from "./img.ts";
import { pidFileOf, requireField } from "./record.ts";
import { liveQemu, stopQemu } from "./process.ts";
import { closeAllMasters } from "../ssh/exec.ts";

/** The `-drive id` of the overlay (backends/qemu/argv.ts). */
const OVERLAY_DRIVE = "drive0";
/** A snapshot job writes or reads the whole guest memory: allow for a large, slow disk. */
const JOB_TIMEOUT_MS = 30 * 60_000;
const JOB_POLL_MS = 50;

/** Runner options of a qemu-img call that fails with `vmctl::snapshot::<code>`. */
function qemuImgFailure(code: string, hint: string) {
  return { errorCode: `vmctl::snapshot::${code}`, hint, timeoutMs: 10 * 60_000 };
}

/** The overlay of `vm`, refused unless it is a qcow2 file (only qcow2 holds snapshots). */
async function requireQcow2(vm: VmRecord, runner: Runner): Promise<string> {
  const overlay = requireField(vm, vm.overlay_path, "overlay disk");
  const info = await imageInfo(runner, overlay, { forceShare: true });
  if (info.format !== "qcow2") {
    throw new Diagnostic(
      "vmctl::snapshot::needs_qcow2",
      `VM '${vm.name}' runs on a ${info.format} image (${overlay}), and snapshots need the qcow2 overlay`,
      {
        hint:
          `recreate the VM with vmctl (it puts a qcow2 overlay over the base image), or convert the disk: qemu-img convert -O qcow2`,
      },
    );
  }
  return overlay;
}

/** The snapshots held in `overlay`, as `qemu-img info` lists them (works while QEMU runs). */
async function listImage(runner: Runner, overlay: string): Promise<ImageSnapshot[]> {
  const info = await imageInfo(runner, overlay, { forceShare: true });
  const snaps = (info.raw.snapshots ?? []) as Record<string, unknown>[];
  return snaps.map((s) => ({
    name: String(s.name),
    date: new Date(Number(s["date-sec"]) * 1000).toISOString(),
    vmStateBytes: Number(s["vm-state-size"] ?? 0),
  }));
}

/** True while a QEMU of `vm` runs (then only QMP may touch the overlay). */
async function hasQemu(vm: VmRecord): Promise<boolean> {
  return (await liveQemu(vm, pidFileOf(vm))) !== null;
}

async function withQmp<T>(vm: VmRecord, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  const qmp = await connectQmp(requireField(vm, vm.qmp_socket, "QMP socket path"));
  try {
    return await fn(qmp);
  } finally {
    qmp.close();
  }
}

/** The block node of the overlay (QEMU names it when the drive is opened). */
async function overlayNode(qmp: QmpClient): Promise<string> {
  const blocks = await qmp.execute<{ device: string; inserted?: { "node-name": string } }[]>(
    "query-block",
  );
  const node = blocks.find((b) => b.device === OVERLAY_DRIVE)?.inserted?.["node-name"];
  if (!node) {
    throw new Diagnostic("vmctl::snapshot::no_disk", `QEMU has no ${OVERLAY_DRIVE} disk`, {
      hint: "this QEMU was not started by this vmctl; stop it and start it with `vmctl start`",
    });
  }
  return node;
}

interface JobInfo {
  id: string;
  status: string;
  error?: string;
}

/**
 * Run a QMP job to its end and dismiss it; its error becomes `code`. The job
 * is given a unique id so a job left behind by a killed vmctl never clashes.
 */
async function runJob(
  qmp: QmpClient,
  command: string,
  args: Record<string, unknown>,
  fail: (error: string) => Diagnostic,
): Promise<void> {
  const id = `vmctl-${command}-${crypto.randomUUID().slice(0, 8)}`;
  // QEMU's main loop serves QMP and also runs the job, so a reply can wait for the whole job.
  const patient = { timeoutMs: JOB_TIMEOUT_MS };
  await qmp.execute(command, { "job-id": id, ...args }, patient);
  const giveUpAt = Date.now() + JOB_TIMEOUT_MS;
  let job: JobInfo | undefined;
  for (;;) {
    job = (await qmp.execute<JobInfo[]>("query-jobs", undefined, patient)).find((j) => j.id === id);
    if (!job || job.status === "concluded" || Date.now() > giveUpAt) break;
    await sleep(JOB_POLL_MS);
  }
  if (job?.status === "concluded") await qmp.execute("job-dismiss", { id }, patient);
  if (!job || job.status !== "concluded") {
    throw fail(job ? `the ${command} job did not finish (status ${job.status})` : "job vanished");
  }
  if (job.error) throw fail(job.error);
}

/** Which QEMU runs `vm` now: its version (QMP greeting) and resolved machine type. */
async function liveOrigin(qmp: QmpClient): Promise<SnapshotOrigin> {
  const v = qmp.version;
  const type = await qmp.execute<string>("qom-get", { path: "/machine", property: "type" });
  return {
    qemu_version: v ? `${v.major}.${v.minor}.${v.micro}` : "unknown",
    machine: type.replace(/-machine$/, ""),
  };
}

/** Which QEMU `vmctl start` would run: the installed version and what `q35` resolves to. */
async function installedOrigin(runner: Runner): Promise<SnapshotOrigin> {
  const version = await runner.run(["qemu-system-x86_64", "--version"], { timeoutMs: 30_000 });
  const machines = await runner.run(["qemu-system-x86_64", "-machine", "help"], {
    timeoutMs: 30_000,
  });
  const v = /version (\d+\.\d+\.\d+)/.exec(version.stdout)?.[1] ?? "unknown";
  const alias = /^q35\s.*\(alias of ([^)]+)\)/m.exec(machines.stdout)?.[1] ?? "q35";
  return { qemu_version: v, machine: alias };
}

function saveFailed(vm: VmRecord, tag: string) {
  return (error: string) =>
    new Diagnostic(
      "vmctl::snapshot::save_failed",
      `QEMU could not save snapshot '${tag}' of VM '${vm.name}': ${error}`,
      { hint: "the VM keeps running as it was; fix the cause and try again" },
    );
}

/**
 * QEMU reports a full disk during a save as an I/O error: say how much room
 * the overlay's file system has, and call it full when the guest's memory
 * cannot fit there.
 */
async function withFreeSpace(vm: VmRecord, runner: Runner, err: unknown): Promise<unknown> {
  if (!(err instanceof Diagnostic)) return err;
  const df = await runner.run(["df", "-B1", "--output=avail", "--", vm.work_dir], {
    check: false,
    timeoutMs: 10_000,
  });
  const avail = Number(df.stdout.trim().split("\n").pop());
  if (df.code !== 0 || !Number.isFinite(avail)) return err;
  const mib = (avail / 1024 ** 2).toFixed(1);
  const full = avail < vm.memory_mb * 1024 ** 2;
  return new Diagnostic(err.code, err.message, {
    details: [...err.details, `free space where the overlay lives (${vm.work_dir}): ${mib} MiB`],
    hint: full
      ? `the file system holding the overlay is full (${mib} MiB free, the guest has ${vm.memory_mb} MB of memory): free space there and try again; the VM keeps running`
      : err.hint,
    cause: err,
  });
}

async function create(
  vm: VmRecord,
  ctx: BackendContext,
  tag: string,
  o: { memory: boolean },
): Promise<SnapshotOrigin | undefined> {
  const overlay = await requireQcow2(vm, ctx.runner);
  if (!(await hasQemu(vm))) {
    await ctx.runner.run(
      ["qemu-img", "snapshot", "-c", tag, "--", overlay],
      qemuImgFailure("save_failed", "qemu-img could not write the snapshot into the overlay"),
    );
    return undefined;
  }
  return await withQmp(vm, (qmp) => saveLive(vm, qmp, tag, o.memory)).catch(async (err) => {
    throw await withFreeSpace(vm, ctx.runner, err);
  });
}

async function saveLive(
  vm: VmRecord,
  qmp: QmpClient,
  tag: string,
  memory: boolean,
): Promise<SnapshotOrigin | undefined> {
  const node = await overlayNode(qmp);
  if (!memory) {
    try {
      await qmp.execute("blockdev-snapshot-internal-sync", { device: node, name: tag }, {
        timeoutMs: 10 * 60_000,
      });
    } catch (err) {
      throw saveFailed(vm, tag)(err instanceof Error ? err.message : String(err));
    }
    return undefined;
  }
  const origin = await liveOrigin(qmp);
  await runJob(qmp, "snapshot-save", { tag, vmstate: node, devices: [node] }, saveFailed(vm, tag));
  return origin;
}

/** Delete `tag` from the overlay if it is there (a partial save leaves nothing behind). */
async function remove(vm: VmRecord, ctx: BackendContext, tag: string): Promise<boolean> {
  const overlay = requireField(vm, vm.overlay_path, "overlay disk");
  if (!(await listImage(ctx.runner, overlay)).some((s) => s.name === tag)) return false;
  const fail = (error: string) =>
    new Diagnostic(
      "vmctl::snapshot::delete_failed",
      `could not delete snapshot '${tag}' of VM '${vm.name}': ${error}`,
      {
        hint: "the snapshot is still there; `vmctl snapshot delete` retries",
      },
    );
  if (!(await hasQemu(vm))) {
    const res = await ctx.runner.run(["qemu-img", "snapshot", "-d", tag, "--", overlay], {
      check: false,
      timeoutMs: 10 * 60_000,
    });
    if (res.code !== 0) throw fail(res.stderr.trim());
    return true;
  }
  await withQmp(vm, async (qmp) => {
    const node = await overlayNode(qmp);
    await runJob(qmp, "snapshot-delete", { tag, devices: [node] }, fail);
  });
  return true;
}

/**
 * Bring the VM back to `tag`. Live: the memory snapshot is loaded into the
 * running QEMU; when that fails part-way the guest would be neither the old
 * nor the snapshot, so QEMU is stopped instead and the failure says so.
 * Stopped: the overlay is reverted (disk-only snapshots).
 */
async function restore(vm: VmRecord, ctx: BackendContext, tag: string): Promise<VmRecord> {
  const overlay = await requireQcow2(vm, ctx.runner);
  if (!(await hasQemu(vm))) {
    await ctx.runner.run(
      ["qemu-img", "snapshot", "-a", tag, "--", overlay],
      qemuImgFailure("restore_failed", "the overlay was not changed; check `qemu-img check`"),
    );
    return vm;
  }
  // Shared SSH connections belong to the guest being replaced: their TCP state goes with it.
  await closeAllMasters(vm.work_dir);
  try {
    await withQmp(vm, async (qmp) => {
      const node = await overlayNode(qmp);
      await runJob(
        qmp,
        "snapshot-load",
        { tag, vmstate: node, devices: [node] },
        (error) =>
          new Diagnostic(
            "vmctl::snapshot::restore_failed",
            `QEMU could not load snapshot '${tag}' of VM '${vm.name}': ${error}`,
            {
              hint:
                `the VM was stopped rather than left half-restored; \`vmctl snapshot restore ${vm.name} ${tag}\` retries from the stopped VM`,
            },
          ),
      );
    });
  } catch (err) {
    const pid = await liveQemu(vm, pidFileOf(vm));
    if (pid) await stopQemu(vm, pid, pidFileOf(vm), 0, "quit");
    throw err;
  }
  return vm;
}

/** The QEMU {@link SnapshotOps}. */
export const qemuSnapshots: SnapshotOps = {
  async list(vm, ctx) {
    return await listImage(ctx.runner, await requireQcow2(vm, ctx.runner));
  },
  async origin(vm, ctx) {
    return await hasQemu(vm) ? await withQmp(vm, liveOrigin) : await installedOrigin(ctx.runner);
  },
  create,
  restore,
  remove,
};
