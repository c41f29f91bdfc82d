/**
 * Lifecycle transitions (start, stop, suspend, resume, destroy) shared by the
 * imperative commands and `up`/`down`/`reload`.
 *
 * Each one: ask the backend for the live state, check the book's transition
 * table, mark the record busy (so a second vmctl cannot act on the same VM
 * meanwhile), run the backend, then store the result. A backend failure
 * leaves the VM `failed` with the reason, so `status` explains it and `start`
 * or `destroy` recover from it.
 *
 * @module
 */
import { STOP_TIMEOUT_MS } from "../../lib/defaults.ts";
import { pidAlive } from "../../backends/proc.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { assertInside } from "../../lib/paths.ts";
import {
  busyHolder,
  readStore,
  requireRecord,
  type StoreDoc,
  updateStore,
  type VmOperation,
} from "../../lib/store.ts";
import type { Accel, VmRecord, VmState } from "../../lib/types.ts";
import type { Hypervisor } from "../../backends/hypervisor.ts";
import { backendFor } from "../../backends/router.ts";
import type { OpsContext } from "../common.ts";
import { withLive } from "./view.ts";

export type Transition = "start" | "stop" | "suspend" | "resume";

/** The states each transition starts from (the book's table; `failed` may be retried or stopped). */
export const ALLOWED_FROM: Record<Transition, readonly VmState[]> = {
  start: ["prepared", "stopped", "failed"],
  stop: ["running", "suspended", "failed"],
  suspend: ["running"],
  resume: ["suspended"],
};

/** `vmctl::vm::invalid_state`: names the current state and what to do instead. */
export function invalidState(name: string, state: VmState, action: Transition): Diagnostic {
  const hints: Record<string, string> = {
    "start:running": `it is already running; to restart it run \`vmctl stop ${name}\` first`,
    "start:suspended": `it is paused; continue it with \`vmctl resume ${name}\``,
    "stop:prepared": "it was never started, so there is nothing to stop",
    "stop:stopped": "it is already stopped",
    "suspend:suspended": `it is already suspended; \`vmctl resume ${name}\` continues it`,
    "resume:running": "it is already running",
  };
  const fallback = action === "suspend" || action === "resume"
    ? `only a ${
      action === "suspend" ? "running" : "suspended"
    } VM can be ${action}d; start it with \`vmctl start ${name}\``
    : `\`vmctl status ${name}\` shows what it is doing`;
  return new Diagnostic(
    "vmctl::vm::invalid_state",
    `cannot ${action} VM '${name}': it is ${state}`,
    { hint: hints[`${action}:${state}`] ?? fallback, details: [`current state: ${state}`] },
  );
}

function busyError(name: string, op: VmOperation): Diagnostic {
  return new Diagnostic(
    "vmctl::vm::busy",
    `VM '${name}' is busy: another vmctl (pid ${op.pid}) is running \`${op.action}\` on it`,
    { hint: "wait for it to finish, then try again" },
  );
}

/**
 * Mark `name` busy for `action` under the store lock and return the fresh
 * record; refuses when another live vmctl holds it.
 */
export async function claim(ctx: OpsContext, name: string, action: string): Promise<VmRecord> {
  return await updateStore(ctx.paths, (doc) => {
    const rec = requireRecord(doc, name);
    const holder = busyHolder(rec, pidAlive);
    if (holder) throw busyError(name, holder);
    const op: VmOperation = { pid: Deno.pid, action, started_at: new Date().toISOString() };
    doc.vms[name] = { ...rec, operation: op };
    return doc.vms[name];
  });
}

/** Store `next` for the VM `id` (unless it was destroyed meanwhile) and clear the busy mark. */
export async function release(ctx: OpsContext, next: VmRecord): Promise<VmRecord> {
  return await updateStore(ctx.paths, (doc) => {
    const cur = doc.vms[next.name];
    if (!cur || cur.id !== next.id) return next;
    const rest: VmRecord = { ...next };
    delete rest.operation;
    doc.vms[next.name] = rest;
    return doc.vms[next.name];
  });
}

/** Run one transition on `name` with the checks above; returns the stored result. */
export async function transition(
  ctx: OpsContext,
  name: string,
  action: Transition,
  opts: { timeoutMs?: number; accel?: Accel } = {},
): Promise<VmRecord> {
  const doc = await readStore(ctx.paths);
  const stored = requireRecord(doc, name);
  const backend = await backendFor(stored.backend);
  const claimed = await claim(ctx, name, action);
  let vm = claimed;
  try {
    vm = withLive(claimed, await backend.state(claimed, ctx));
    if (!ALLOWED_FROM[action].includes(vm.state)) throw invalidState(name, vm.state, action);
  } catch (err) {
    await release(ctx, vm);
    throw err;
  }
  try {
    const next = await runBackend(
      backend,
      action,
      vm,
      ctx,
      opts.timeoutMs ?? STOP_TIMEOUT_MS,
      opts.accel,
    );
    return await release(ctx, next);
  } catch (err) {
    await release(ctx, failed(vm, action, err));
    throw err;
  }
}

function runBackend(
  b: Hypervisor,
  action: Transition,
  vm: VmRecord,
  ctx: OpsContext,
  timeoutMs: number,
  accel?: Accel,
): Promise<VmRecord> {
  switch (action) {
    case "start":
      return b.start(vm, ctx, accel ? { accel } : undefined);
    case "stop":
      return b.stop(vm, timeoutMs, ctx);
    case "suspend":
      return b.suspend(vm, ctx);
    case "resume":
      return b.resume(vm, ctx);
  }
}

/** The record after `action` failed: state failed, the reason kept for `status`. */
export function failed(vm: VmRecord, action: string, err: unknown): VmRecord {
  const msg = err instanceof Error ? err.message : String(err);
  return { ...vm, state: "failed", state_reason: `${action} failed: ${msg}` };
}

/**
 * Destroy `name`: stop it if it runs, release backend resources, remove its
 * work dir (only if inside the data dir) and its store entry. A failure keeps
 * the record (state failed) so the user can retry.
 */
export async function destroyVm(
  ctx: OpsContext,
  name: string,
  opts: { timeoutMs?: number; say?: (line: string) => void } = {},
): Promise<void> {
  const stored = requireRecord(await readStore(ctx.paths), name);
  assertInside(ctx.paths.vmsDir, stored.work_dir);
  const backend = await backendFor(stored.backend);
  let vm = await claim(ctx, name, "destroy");
  try {
    vm = withLive(vm, await backend.state(vm, ctx));
    if (vm.state === "running" || vm.state === "suspended") {
      opts.say?.(`stopping VM '${name}' first`);
      vm = await backend.stop(vm, opts.timeoutMs ?? STOP_TIMEOUT_MS, ctx);
    }
    await backend.destroy(vm, ctx);
    await removeWorkDir(ctx, vm.work_dir);
  } catch (err) {
    await release(ctx, failed(vm, "destroy", err));
    throw err;
  }
  await removeRecord(ctx, name, vm.id);
}

/** Remove a VM's work dir; refuses anything not strictly inside the data dir's vms/. */
export async function removeWorkDir(ctx: OpsContext, dir: string): Promise<void> {
  assertInside(ctx.paths.vmsDir, dir);
  try {
    await Deno.remove(dir, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Drop the store entry of `name` if it still has id `id`. */
export async function removeRecord(ctx: OpsContext, name: string, id: string): Promise<void> {
  await updateStore(ctx.paths, (doc: StoreDoc) => {
    if (doc.vms[name]?.id === id) delete doc.vms[name];
  });
}
