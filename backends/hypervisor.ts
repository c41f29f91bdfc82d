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
import type {
  BackendTag,
  ConsoleEndpoint,
  SshEndpoint,
  VmRecord,
  VmSpec,
  VmState,
} from "../lib/types.ts";
import type { Runner } from "./exec.ts";

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
}

export interface Hypervisor {
  readonly tag: BackendTag;
  /**
   * Build the VM's resources (work dir is already created with the seed;
   * backends add overlays, MACs, ...). Returns the record in state "prepared".
   */
  prepare(spec: VmSpec, base: VmRecord, ctx: BackendContext): Promise<VmRecord>;
  start(vm: VmRecord, ctx: BackendContext, opts?: StartOptions): Promise<VmRecord>;
  /** Graceful stop with escalation after `timeoutMs`. */
  stop(vm: VmRecord, timeoutMs: number, ctx: BackendContext): Promise<VmRecord>;
  suspend(vm: VmRecord, ctx: BackendContext): Promise<VmRecord>;
  resume(vm: VmRecord, ctx: BackendContext): Promise<VmRecord>;
  /** Stop if needed and release backend resources (not the work dir: the caller removes it). */
  destroy(vm: VmRecord, ctx: BackendContext): Promise<void>;
  /** The live state, reconciled with the stored one. */
  state(vm: VmRecord, ctx: BackendContext): Promise<StateReport>;
  /** Where to reach the guest's SSH server. */
  guestIp(vm: VmRecord, ctx: BackendContext, timeoutMs?: number): Promise<SshEndpoint>;
  consoleEndpoint(vm: VmRecord): ConsoleEndpoint;
}
