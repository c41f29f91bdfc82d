/**
 * Claiming a VM for one operation: the busy mark (under the store lock) that
 * keeps a second vmctl off the VM, the first step of every plan that changes
 * a VM (with the live state read and checked), and the step that calls the
 * backend, leaving the VM `failed` with the reason when the call fails.
 *
 * @module
 */
import { pidAlive } from "../backends/proc.ts";
import { storeStep, taskStep } from "../backends/apply.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import type { Step } from "../lib/plan.ts";
import { busyHolder, requireRecord, updateStore } from "../lib/store.ts";
import type { VmOperation, VmRecord, VmState } from "../lib/types.ts";
import type { Hypervisor } from "../backends/hypervisor.ts";
import type { VmContext } from "./context.ts";
import { withLive } from "./reconcile.ts";
import { host } from "../host/mod.ts";

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
export async function claim(ctx: VmContext, name: string, action: string): Promise<VmRecord> {
  return await updateStore(ctx.paths, (doc) => {
    const rec = requireRecord(doc, name);
    const holder = busyHolder(rec, pidAlive);
    if (holder) throw busyError(name, holder);
    const op: VmOperation = { pid: host.pid, action, started_at: new Date().toISOString() };
    doc.vms[name] = { ...rec, operation: op };
    return doc.vms[name];
  });
}

/** Store `next` for the VM `id` (unless it was destroyed meanwhile) and clear the busy mark. */
export async function release(ctx: VmContext, next: VmRecord): Promise<VmRecord> {
  return await updateStore(ctx.paths, (doc) => {
    const cur = doc.vms[next.name];
    if (!cur || cur.id !== next.id) return next;
    const rest: VmRecord = { ...next };
    delete rest.operation;
    doc.vms[next.name] = rest;
    return doc.vms[next.name];
  });
}

/** The record after `action` failed: state failed, the reason kept for `status`. */
export function failed(vm: VmRecord, action: string, err: unknown): VmRecord {
  const msg = err instanceof Error ? err.message : String(err);
  return { ...vm, state: "failed", state_reason: `${action} failed: ${msg}` };
}

/** The record a transition plan carries from step to step. */
export interface Held {
  vm?: VmRecord;
}

/**
 * The first step of every transition: mark the VM busy, read its live state,
 * check `allowed` (when given). Its undo stores the VM as the later steps left
 * it (failed, with the reason) and clears the mark.
 */
export function claimStep(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
  action: string,
  held: Held,
  allowed?: { states: readonly VmState[]; refuse: (state: VmState) => Diagnostic },
): Step {
  const check = allowed ? `; its live state must be ${allowed.states.join(", ")}` : "";
  return storeStep(
    `mark VM '${name}' busy (${action})`,
    ctx.paths.storeFile,
    `VM '${name}': operation ${action} by this vmctl${check}`,
    async () => {
      const claimed = await claim(ctx, name, action);
      held.vm = claimed;
      try {
        held.vm = withLive(claimed, await backend.state(claimed, ctx));
        if (allowed && !allowed.states.includes(held.vm.state)) {
          throw allowed.refuse(held.vm.state);
        }
      } catch (err) {
        await release(ctx, held.vm);
        throw err;
      }
    },
    {
      action: { kind: "store", file: ctx.paths.storeFile, change: `VM '${name}': clear the mark` },
      run: () => release(ctx, held.vm!),
    },
  );
}

/** A step calling the backend on the held VM; a failure leaves it `failed` with the reason. */
export function backendStep(
  title: string,
  detail: string,
  action: string,
  held: Held,
  call: (vm: VmRecord) => Promise<VmRecord | void>,
): Step {
  return taskStep(title, detail, async () => {
    try {
      held.vm = (await call(held.vm!)) ?? held.vm;
    } catch (err) {
      held.vm = failed(held.vm!, action, err);
      throw err;
    }
  });
}
