/**
 * The contract every backend implements. The CLI never talks to QEMU,
 * Propolis or the no-op backend directly: it goes through the router, which
 * dispatches on the record's `backend` tag.
 *
 * Methods receive the stored record and return the updated record; the
 * caller persists it (under the store lock). A method that fails must undo
 * what it did before throwing a Diagnostic.
 *
 * @module
 */
import type { DataPaths } from "../lib/paths.ts";
import type { ImageSnapshot } from "../lib/snapshots.ts";
import type {
  BackendTag,
  ConsoleEndpoint,
  SnapshotOrigin,
  SshEndpoint,
  VmRecord,
  VmSpec,
  VmState,
} from "../lib/types.ts";
import type { Runner } from "./exec.ts";
import type { Diagnostic } from "../lib/diagnostics.ts";
import type { Step } from "../lib/plan.ts";
import type { VmConfig } from "../lib/types.ts";

/** Shared context handed to every backend call. */
export interface BackendContext {
  paths: DataPaths;
  runner: Runner;
}

export interface StateReport {
  state: VmState;
  /** Why, when the VM is not where vmctl left it (e.g. QEMU was killed). */
  reason?: string;
  pid?: number | null;
}

export interface StartOptions {
  /** Overrides the recorded accelerator. */
  accel?: VmSpec["accel"];
  /** Start from this memory snapshot of the disk instead of booting. */
  loadvm?: string;
}

/**
 * Snapshots of a VM's disk, with the guest's memory when it runs. Methods
 * work on a running and on a stopped VM; the backend picks how.
 */
export interface SnapshotOps {
  /** The snapshots the VM's disk holds. */
  list(vm: VmRecord, ctx: BackendContext): Promise<ImageSnapshot[]>;
  /** What would write or load a memory snapshot now: the running hypervisor, else the installed one. */
  origin(vm: VmRecord, ctx: BackendContext): Promise<SnapshotOrigin>;
  /**
   * Take snapshot `tag` (with memory when `memory` and the VM runs); returns
   * the origin of a memory snapshot. A failure leaves no partial snapshot
   * behind only after the caller's `remove`.
   */
  create(
    vm: VmRecord,
    ctx: BackendContext,
    tag: string,
    o: { memory: boolean },
  ): Promise<SnapshotOrigin | undefined>;
  /** Bring a running VM back to memory snapshot `tag`, or a stopped one's disk to `tag`. */
  restore(vm: VmRecord, ctx: BackendContext, tag: string): Promise<VmRecord>;
  /** Delete `tag`; false when the disk does not hold it. */
  remove(vm: VmRecord, ctx: BackendContext, tag: string): Promise<boolean>;
}

/** What the steps of one create share as they run. */
export interface Making {
  /** The VM's record as it is made (reserved in the store first). */
  rec: VmRecord;
  /** The local base image, once resolved. */
  imagePath?: string;
  /** network-config for the seed, from the backend's network steps (the guest's address). */
  networkConfig?: string;
}

/**
 * A preparation made of many system commands, as plan steps: `--dry-run`
 * shows each one and `apply` undoes each one. `network` steps run before the
 * cloud-init seed is written and may set `making.networkConfig`; `prepare`
 * steps take the place of {@link Hypervisor.prepare}.
 */
export interface PrepareSteps {
  network: Step[];
  prepare: Step[];
}

export interface Hypervisor {
  readonly tag: BackendTag;
  /**
   * Build the VM's resources (work dir is already created with the seed;
   * backends add overlays, MACs, ...). Returns the record in state "prepared".
   */
  prepare(spec: VmSpec, base: VmRecord, ctx: BackendContext): Promise<VmRecord>;
  /** Preparation as plan steps, for backends whose `prepare` is many commands. */
  prepareSteps?(config: VmConfig, making: Making, ctx: BackendContext): Promise<PrepareSteps>;
  start(vm: VmRecord, ctx: BackendContext, opts?: StartOptions): Promise<VmRecord>;
  /**
   * Graceful stop with escalation after `timeoutMs`; `quit` ends the
   * hypervisor at once instead (its state was saved: the guest must not run on).
   */
  stop(
    vm: VmRecord,
    timeoutMs: number,
    ctx: BackendContext,
    o?: { quit?: boolean },
  ): Promise<VmRecord>;
  suspend(vm: VmRecord, ctx: BackendContext): Promise<VmRecord>;
  /**
   * The diagnostic refusing `action` on VM `name` when the backend cannot do
   * it at all: checked before the VM is touched.
   */
  refuses?(action: "suspend" | "resume", name: string): Diagnostic | undefined;
  resume(vm: VmRecord, ctx: BackendContext): Promise<VmRecord>;
  /** Stop if needed and release backend resources (not the work dir: the caller removes it). */
  destroy(vm: VmRecord, ctx: BackendContext): Promise<void>;
  /** The live state, reconciled with the stored one. */
  state(vm: VmRecord, ctx: BackendContext): Promise<StateReport>;
  /** Where to reach the guest's SSH server. */
  guestIp(vm: VmRecord, ctx: BackendContext, timeoutMs?: number): Promise<SshEndpoint>;
  consoleEndpoint(vm: VmRecord): ConsoleEndpoint;
  /**
   * Copy the console output the hypervisor itself keeps into the work dir's
   * console log (`vmctl log`); absent when the backend writes that file as
   * the guest prints.
   */
  captureConsole?(vm: VmRecord, ctx: BackendContext): Promise<void>;
  /**
   * What `action` on VM `name` does, one command or request a line, for
   * `--dry-run` (from `vm`, the stored record, when it exists); absent when
   * one line naming the backend call says enough.
   */
  explain?(action: "start" | "stop", name: string, vm?: VmRecord): string;
  /** Snapshots; absent when the backend cannot take them. */
  readonly snapshots?: SnapshotOps;
}
