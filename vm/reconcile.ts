/**
 * Reconcile: ask a VM's backend for its live state and write a change (QEMU
 * having died, the guest powered off) back to the store, so `list`, `status`
 * and every command after see what is true.
 *
 * @module
 */
import { pidAlive } from "../backends/proc.ts";
import { log } from "../lib/log.ts";
import { busyHolder, readStore, type StoreDoc, updateStore } from "../lib/store.ts";
import type { VmRecord } from "../lib/types.ts";
import type { Hypervisor, StateReport } from "../backends/hypervisor.ts";
import { backendFor } from "../backends/router.ts";
import type { VmContext } from "./context.ts";

/**
 * Ask each VM's backend for its live state; persist the records that changed
 * (only those not busy in another vmctl). A backend that cannot answer is
 * reported once and its VMs keep their stored state.
 */
export async function refreshRecords(ctx: VmContext, doc: StoreDoc): Promise<VmRecord[]> {
  const names = Object.keys(doc.vms).sort();
  const backends = new Map<string, Hypervisor | null>();
  const changed: VmRecord[] = [];
  const out: VmRecord[] = [];
  for (const name of names) {
    const rec = doc.vms[name];
    if (busyHolder(rec, pidAlive)) {
      out.push(rec);
      continue;
    }
    let backend = backends.get(rec.backend);
    if (backend === undefined) {
      backend = await backendFor(rec.backend).catch((err) => {
        log.warn(`cannot query ${rec.backend} VMs: ${err instanceof Error ? err.message : err}`);
        return null;
      });
      backends.set(rec.backend, backend);
    }
    const live = backend ? await liveState(ctx, backend, rec) : rec;
    if (live !== rec) changed.push(live);
    out.push(live);
  }
  if (changed.length && !ctx.dryRun) await persistLive(ctx, changed);
  return out;
}

/** The stored record of `name` with its live state from `backend` (persisted), or undefined. */
export async function liveRecord(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
): Promise<VmRecord | undefined> {
  const rec = (await readStore(ctx.paths)).vms[name];
  if (!rec || busyHolder(rec, pidAlive)) return rec;
  const live = await liveState(ctx, backend, rec);
  if (live !== rec && !ctx.dryRun) await persistLive(ctx, [live]);
  return live;
}

/** `rec` with its backend's live state; a backend that cannot answer leaves it as stored. */
async function liveState(ctx: VmContext, backend: Hypervisor, rec: VmRecord): Promise<VmRecord> {
  try {
    return withLive(rec, await backend.state(rec, ctx));
  } catch (err) {
    log.warn(`cannot query VM '${rec.name}': ${err instanceof Error ? err.message : err}`);
    return rec;
  }
}

/** Write the live state of `changed` records still there and not busy in another vmctl. */
async function persistLive(ctx: VmContext, changed: VmRecord[]): Promise<void> {
  await updateStore(ctx.paths, (fresh) => {
    for (const rec of changed) {
      const cur = fresh.vms[rec.name];
      if (cur && cur.id === rec.id && !busyHolder(cur, pidAlive)) {
        fresh.vms[rec.name] = {
          ...cur,
          state: rec.state,
          state_reason: rec.state_reason,
          pid: rec.pid,
        };
      }
    }
  });
}

/** Apply a live report to a record (state, reason, pid) without other changes. */
export function withLive(vm: VmRecord, live: StateReport): VmRecord {
  if (live.state === vm.state && (live.pid ?? null) === (vm.pid ?? null)) return vm;
  return {
    ...vm,
    state: live.state,
    state_reason: live.reason ?? (live.state === vm.state ? vm.state_reason ?? null : null),
    pid: live.pid ?? null,
  };
}
