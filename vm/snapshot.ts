/**
 * Snapshots of a VM, as plans: `snapshot create|restore|delete` and the saved
 * state of `stop --save` that the next start resumes from.
 *
 *   create:  mark busy -> the name is free -> save (undo: delete what was
 *            written, also after a failed save) -> note it in snapshots.json
 *   restore: mark busy -> it exists and this QEMU can load it -> load it
 *            (running VM), revert the disk (stopped VM, disk-only snapshot)
 *            or start from it (stopped VM, memory snapshot)
 *   delete:  mark busy -> delete it -> drop it from snapshots.json
 *
 * An interrupt is honoured between steps, so a save or load QEMU has begun is
 * finished first: the VM is then either as it was (a save is undone) or fully
 * restored, never half-way.
 *
 * @module
 */
import { NOTHING_TO_UNDO, storeStep, taskStep } from "../backends/apply.ts";
import type { Hypervisor, SnapshotOps } from "../backends/hypervisor.ts";
import { backendFor } from "../backends/router.ts";
import { Diagnostic, didYouMean } from "../lib/diagnostics.ts";
import { writeAtomic } from "../lib/files.ts";
import { requireName, SNAPSHOT_NAME_RULE } from "../lib/names.ts";
import { type Plan, plan, type Step } from "../lib/plan.ts";
import {
  emptyBook,
  type ImageSnapshot,
  incompatibility,
  parseBook,
  SAVED_STATE_TAG,
  serializeBook,
  type SnapshotBook,
  type SnapshotRow,
  snapshotRows,
} from "../lib/snapshots.ts";
import { readStore, requireRecord } from "../lib/store.ts";
import type { SnapshotOrigin, VmRecord, VmState } from "../lib/types.ts";
import { vmFile } from "../lib/vm_files.ts";
import { RESUME_READY_TIMEOUT_MS } from "../lib/defaults.ts";
import { vmGoneReason } from "../backends/provision.ts";
import { sshTargetFor, waitForSsh } from "../backends/ssh/mod.ts";
import { claimStep, type Held, release } from "./claim.ts";
import type { VmContext } from "./context.ts";
import { type Course, planStage } from "./course.ts";
import { host, isNotFound } from "../host/mod.ts";

/** States a snapshot can be taken, restored or deleted in (a failed VM is started or destroyed first). */
const SNAPSHOT_STATES: readonly VmState[] = ["running", "suspended", "stopped", "prepared"];

/** `vmctl::snapshot::invalid_name` unless `snap` follows the snapshot name rule. */
export function validateSnapshotName(snap: string): string {
  return requireName(SNAPSHOT_NAME_RULE, snap, "vmctl::snapshot::invalid_name");
}

/** The backend's snapshots, or a diagnostic saying this backend has none. */
export function snapshotOps(backend: Hypervisor, name: string): SnapshotOps {
  if (backend.snapshots) return backend.snapshots;
  throw new Diagnostic(
    "vmctl::snapshot::unsupported",
    `the ${backend.tag} backend cannot snapshot VM '${name}'`,
    {
      hint: backend.tag === "noop"
        ? "the noop backend keeps no disk to snapshot; use the qemu backend for a real VM"
        : "snapshots need the qemu backend",
    },
  );
}

function bookFile(vm: Pick<VmRecord, "work_dir">): string {
  return vmFile(vm.work_dir, "snapshots");
}

/** The VM's snapshots.json (empty when there is none yet). */
export async function readBook(vm: Pick<VmRecord, "work_dir">): Promise<SnapshotBook> {
  const file = bookFile(vm);
  try {
    return parseBook(await host.readTextFile(file), file);
  } catch (err) {
    if (isNotFound(err)) return emptyBook();
    throw err;
  }
}

/** Change the VM's snapshots.json (the VM is marked busy, so no one else writes it). */
async function changeBook(vm: VmRecord, change: (b: SnapshotBook) => void): Promise<void> {
  const book = await readBook(vm);
  change(book);
  await writeAtomic(bookFile(vm), serializeBook(book));
}

function unknownSnapshot(name: string, snap: string, known: ImageSnapshot[]): Diagnostic {
  const names = known.map((s) => s.name).filter((n) => n !== SAVED_STATE_TAG);
  return new Diagnostic("vmctl::snapshot::unknown", `VM '${name}' has no snapshot '${snap}'`, {
    hint: didYouMean(snap, names) ??
      (names.length
        ? `its snapshots: ${names.join(", ")}`
        : `it has none; take one with \`vmctl snapshot create ${name} ${snap}\``),
  });
}

function claimForSnapshot(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
  action: string,
  held: Held,
): Step {
  return claimStep(ctx, backend, name, action, held, {
    states: SNAPSHOT_STATES,
    refuse: (state) =>
      new Diagnostic("vmctl::vm::invalid_state", `cannot ${action} VM '${name}': it is ${state}`, {
        hint:
          `start it (\`vmctl start ${name}\`) or stop it first; \`vmctl status ${name}\` says why it failed`,
        details: [`current state: ${state}`],
      }),
  });
}

function releaseStep(ctx: VmContext, name: string, held: Held): Step {
  return storeStep(
    `clear the busy mark of VM '${name}'`,
    ctx.paths.storeFile,
    `VM '${name}': clear the mark`,
    async () => held.vm = await release(ctx, held.vm!),
  );
}

/** Runs on the VM as the claim left it. */
function live(held: Held): VmRecord {
  return held.vm!;
}

function isLive(vm: VmRecord): boolean {
  return vm.state === "running" || vm.state === "suspended";
}

/** The step that takes snapshot `tag`; its undo deletes whatever a failed or undone save left. */
function saveStep(
  ctx: VmContext,
  ops: SnapshotOps,
  held: Held,
  tag: string,
  o: {
    memory: boolean;
    title: string;
    detail: string;
    /** Delete a snapshot of this tag first (the saved state is replaced, a named one never). */
    replace?: boolean;
    saved?: (origin?: SnapshotOrigin) => void;
  },
): Step {
  return taskStep(o.title, o.detail, async () => {
    if (o.replace) await ops.remove(live(held), ctx, tag);
    o.saved?.(await ops.create(live(held), ctx, tag, { memory: o.memory }));
  }, {
    action: { kind: "task", detail: `delete snapshot '${tag}' if it was written` },
    afterFailure: true,
    run: async () => (await ops.remove(live(held), ctx, tag)) ? undefined : NOTHING_TO_UNDO,
  });
}

/** `vmctl snapshot create NAME SNAP [--disk-only]`. */
export function createSnapshotPlan(
  ctx: VmContext,
  backend: Hypervisor,
  vm: VmRecord,
  snap: string,
  o: { diskOnly?: boolean } = {},
): Plan {
  const name = vm.name;
  const ops = snapshotOps(backend, name);
  const held: Held = {};
  let origin: SnapshotOrigin | undefined;
  const memory = !o.diskOnly;
  return plan(`snapshot VM '${name}' as '${snap}'`, [
    claimForSnapshot(ctx, backend, name, "snapshot", held),
    taskStep(
      `check that VM '${name}' has no snapshot '${snap}'`,
      "the snapshots its disk holds",
      async () => {
        if ((await ops.list(live(held), ctx)).some((s) => s.name === snap)) {
          throw new Diagnostic(
            "vmctl::snapshot::exists",
            `VM '${name}' already has a snapshot '${snap}'`,
            {
              hint: `pick another name, or delete it first: vmctl snapshot delete ${name} ${snap}`,
            },
          );
        }
      },
    ),
    saveStep(ctx, ops, held, snap, {
      memory,
      title: `save snapshot '${snap}'`,
      detail: memory
        ? `${backend.tag} backend: a running VM's disk, memory and device state (the guest pauses meanwhile);\na stopped VM's disk`
        : `${backend.tag} backend: the disk only`,
      saved: (o) => origin = o,
    }),
    storeStep(
      `note snapshot '${snap}' in snapshots.json`,
      bookFile(vm),
      `snapshot '${snap}': when, with or without memory, which QEMU wrote it`,
      () =>
        changeBook(live(held), (b) => {
          b.snapshots[snap] = {
            created_at: new Date().toISOString(),
            memory: origin !== undefined,
            ...(origin ? { origin } : {}),
          };
        }),
    ),
    releaseStep(ctx, name, held),
  ]);
}

/** `vmctl snapshot delete NAME SNAP`. */
export function deleteSnapshotPlan(
  ctx: VmContext,
  backend: Hypervisor,
  vm: VmRecord,
  snap: string,
): Plan {
  const name = vm.name;
  const ops = snapshotOps(backend, name);
  const held: Held = {};
  return plan(`delete snapshot '${snap}' of VM '${name}'`, [
    claimForSnapshot(ctx, backend, name, "snapshot delete", held),
    taskStep(
      `delete snapshot '${snap}'`,
      `${backend.tag} backend: delete it from the disk`,
      async () => {
        const vm = live(held);
        if (!(await ops.remove(vm, ctx, snap))) {
          throw unknownSnapshot(name, snap, await ops.list(vm, ctx));
        }
      },
    ),
    storeStep(
      `drop snapshot '${snap}' from snapshots.json`,
      bookFile(vm),
      `remove snapshot '${snap}'`,
      () => changeBook(live(held), (b) => delete b.snapshots[snap]),
    ),
    releaseStep(ctx, name, held),
  ]);
}

/** How a restore brings the VM back, decided from its live state and the snapshot. */
type RestoreRoute = "load" | "revert" | "start";

/** `vmctl snapshot restore NAME SNAP`. */
export function restoreSnapshotPlan(
  ctx: VmContext,
  backend: Hypervisor,
  vm: VmRecord,
  snap: string,
): Plan {
  const name = vm.name;
  const ops = snapshotOps(backend, name);
  const held: Held = {};
  let route: RestoreRoute = "load";
  return plan(`restore VM '${name}' to snapshot '${snap}'`, [
    claimForSnapshot(ctx, backend, name, "snapshot restore", held),
    taskStep(
      `check that snapshot '${snap}' exists and this QEMU can load it`,
      "a memory snapshot loads only into the QEMU version and machine type that wrote it",
      async () => route = await restoreRoute(ctx, ops, live(held), snap),
    ),
    taskStep(
      `restore snapshot '${snap}'`,
      `${backend.tag} backend: a running VM loads it (disk, memory, devices);\na stopped VM starts from a memory snapshot, or its disk is reverted to a disk-only one\n(a stopped VM's saved state is then discarded)`,
      async () => {
        const vm = live(held);
        try {
          held.vm = route === "start"
            ? await backend.start(vm, ctx, { loadvm: snap })
            : await ops.restore(vm, ctx, snap);
          // A stopped VM brought to a snapshot no longer has the state `stop --save` kept.
          if (route !== "load" && held.vm.saved_state) await dropSavedState(ctx, ops, held);
        } catch (err) {
          if (route === "load") held.vm = stoppedAfter(vm, `restore of snapshot '${snap}' failed`);
          throw err;
        }
      },
    ),
    releaseStep(ctx, name, held),
  ]);
}

/** A VM whose QEMU vmctl ended after a failed operation, with the reason. */
function stoppedAfter(vm: VmRecord, why: string): VmRecord {
  return { ...vm, state: "stopped", state_reason: why, pid: null, ssh_host_port: null };
}

async function restoreRoute(
  ctx: VmContext,
  ops: SnapshotOps,
  vm: VmRecord,
  snap: string,
): Promise<RestoreRoute> {
  const found = await ops.list(vm, ctx);
  const image = found.find((s) => s.name === snap);
  if (!image) throw unknownSnapshot(vm.name, snap, found);
  const memory = image.vmStateBytes > 0;
  if (!memory) {
    if (!isLive(vm)) return "revert";
    throw new Diagnostic(
      "vmctl::snapshot::disk_only_live",
      `snapshot '${snap}' of VM '${vm.name}' holds only the disk, and the VM runs`,
      {
        hint:
          `a running guest cannot have its disk swapped under it: vmctl stop ${vm.name}, then restore`,
      },
    );
  }
  const written = (await readBook(vm)).snapshots[snap]?.origin;
  requireLoadable(vm.name, `snapshot '${snap}'`, written, await ops.origin(vm, ctx));
  return isLive(vm) ? "load" : "start";
}

/** `vmctl::snapshot::incompatible` when `written` cannot be loaded by `loader`, with the reason. */
function requireLoadable(
  name: string,
  what: string,
  written: SnapshotOrigin | undefined,
  loader: SnapshotOrigin,
  hint =
    `take a new snapshot with this QEMU; the old one can only be deleted (vmctl snapshot delete ${name} ...)`,
): void {
  const why = incompatibility(written, loader);
  if (!why) return;
  throw new Diagnostic(
    "vmctl::snapshot::incompatible",
    `${what} of VM '${name}' cannot be loaded: ${why}`,
    { hint },
  );
}

/** `vmctl snapshot list NAME`: the disk's snapshots with vmctl's facts about each. */
export async function listSnapshots(ctx: VmContext, name: string): Promise<SnapshotRow[]> {
  const vm = requireRecord(await readStore(ctx.paths), name);
  const ops = snapshotOps(await backendFor(vm.backend), name);
  return snapshotRows(await ops.list(vm, ctx), await readBook(vm));
}

/** A snapshot command on `name` as a course (the plan is rendered for --dry-run). */
export async function snapshotCourse(
  ctx: VmContext,
  name: string,
  build: (backend: Hypervisor, vm: VmRecord) => Plan,
  done: string,
): Promise<Course> {
  const vm = requireRecord(await readStore(ctx.paths), name);
  return { stages: [planStage(ctx, build(await backendFor(vm.backend), vm), () => done)] };
}

// ---- the saved state of `stop --save` ----

/**
 * The steps `stop --save` adds before the stop: save the running state under
 * the reserved tag, replacing one left from before, and note it in the record.
 */
export function saveStateStep(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
  held: Held,
): Step {
  return saveStep(ctx, snapshotOps(backend, name), held, SAVED_STATE_TAG, {
    memory: true,
    replace: true,
    title: "save the running state (memory, devices, disk)",
    detail:
      `${backend.tag} backend: snapshot '${SAVED_STATE_TAG}' of the overlay, for the next start`,
    saved: (origin) => {
      held.vm = {
        ...live(held),
        saved_state: { tag: SAVED_STATE_TAG, saved_at: new Date().toISOString(), ...origin! },
      };
    },
  });
}

/**
 * The steps of a start from the saved state, around the backend's start:
 * check this QEMU can load it, start from it, delete it (one use), and, once
 * the VM is recorded running, wait for its SSH server with the VM's own
 * known_hosts (the guest kept its host key; only the forwarded port changed).
 */
export function resumeSteps(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
  held: Held,
  around: { start: Step; record: Step },
): Step[] {
  const ops = snapshotOps(backend, name);
  return [
    taskStep(
      "check that this QEMU can load the saved state",
      "the QEMU version and machine type must be those that saved it",
      async () => {
        const vm = live(held);
        requireLoadable(
          vm.name,
          "the saved state",
          vm.saved_state ?? undefined,
          await ops.origin(vm, ctx),
          `\`vmctl start ${vm.name} --fresh\` (or \`vmctl up --fresh\`) boots it instead and discards the saved state`,
        );
      },
    ),
    around.start,
    taskStep(
      "delete the saved state (it is used once)",
      `${backend.tag} backend: delete snapshot '${SAVED_STATE_TAG}'`,
      () => dropSavedState(ctx, ops, held),
    ),
    around.record,
    taskStep(
      "wait for the guest's SSH server again",
      `with the VM's own known_hosts (up to ${
        RESUME_READY_TIMEOUT_MS / 1000
      } s); skipped without network or injected host key`,
      async () => {
        const vm = live(held);
        if (vm.network.type === "none" || !vm.known_hosts) return;
        const { target } = await sshTargetFor(vm, ctx);
        await waitForSsh(target, {
          timeoutMs: RESUME_READY_TIMEOUT_MS,
          consoleLog: vm.console_log ?? undefined,
          vmGone: () => vmGoneReason(backend, vm, ctx),
        });
        ctx.say(`VM '${name}' answers SSH on ${target.host}:${target.port}`);
      },
    ),
  ];
}

/** `start --fresh` / `up --fresh` on a VM with a saved state: delete it, then boot as usual. */
export function discardSavedStateStep(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
  held: Held,
): Step {
  const ops = snapshotOps(backend, name);
  return taskStep(
    "discard the saved state (--fresh)",
    `${backend.tag} backend: delete snapshot '${SAVED_STATE_TAG}'`,
    () => dropSavedState(ctx, ops, held),
  );
}

async function dropSavedState(ctx: VmContext, ops: SnapshotOps, held: Held): Promise<void> {
  await ops.remove(live(held), ctx, SAVED_STATE_TAG);
  held.vm = { ...live(held), saved_state: null };
}
