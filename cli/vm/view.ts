/**
 * What `list` and `status` show: the stored record reconciled with the
 * backend's live state (a change, such as QEMU having died, is persisted),
 * as plain objects for `--json` and as text.
 *
 * @module
 */
import { pidAlive } from "../../backends/proc.ts";
import { DEFAULT_SSH_USER } from "../../lib/defaults.ts";
import { log } from "../../lib/log.ts";
import { busyHolder, type StoreDoc, updateStore } from "../../lib/store.ts";
import type { NetworkConfig, VmRecord } from "../../lib/types.ts";
import type { Hypervisor, StateReport } from "../../backends/hypervisor.ts";
import { backendFor } from "../../backends/router.ts";
import type { OpsContext } from "../common.ts";

/**
 * Ask each VM's backend for its live state; persist the records that changed
 * (only those not busy in another vmctl). A backend that cannot answer is
 * reported once and its VMs keep their stored state.
 */
export async function refreshRecords(ctx: OpsContext, doc: StoreDoc): Promise<VmRecord[]> {
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
    let live = rec;
    if (backend) {
      try {
        live = withLive(rec, await backend.state(rec, ctx));
      } catch (err) {
        log.warn(`cannot query VM '${name}': ${err instanceof Error ? err.message : err}`);
      }
    }
    if (live !== rec) changed.push(live);
    out.push(live);
  }
  if (changed.length && !ctx.dryRun) {
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
  return out;
}

/** The text shown in the STATE column: the state, or what a busy vmctl is doing. */
export function shownState(rec: VmRecord): string {
  const op = busyHolder(rec, pidAlive);
  if (!op) return rec.state;
  const ing: Record<string, string> = {
    create: "creating",
    start: "starting",
    stop: "stopping",
    suspend: "suspending",
    resume: "resuming",
    destroy: "destroying",
  };
  return ing[op.action] ?? `${op.action} in progress`;
}

/** The `list --json` object of a VM. */
export function listView(rec: VmRecord): Record<string, unknown> {
  const op = busyHolder(rec, pidAlive);
  return {
    name: rec.name,
    backend: rec.backend,
    state: rec.state,
    vcpus: rec.vcpus,
    memory_mb: rec.memory_mb,
    network: rec.network,
    pid: rec.pid ?? null,
    ssh_port: rec.ssh_host_port ?? null,
    busy: op ? { action: op.action, pid: op.pid } : null,
  };
}

/** The `status --json` object of a VM: the list object plus paths and identifiers. */
export function statusView(rec: VmRecord): Record<string, unknown> {
  return {
    ...listView(rec),
    id: rec.id,
    state_reason: rec.state_reason ?? null,
    disk_gb: rec.disk_gb ?? null,
    work_dir: rec.work_dir,
    image_path: rec.image_path ?? null,
    overlay_path: rec.overlay_path ?? null,
    seed_iso_path: rec.seed_iso_path ?? null,
    mac: rec.mac_addr ?? null,
    vnc: rec.vnc_addr ?? null,
    uefi: rec.uefi ?? false,
    accel: rec.accel ?? null,
    ssh_user: rec.ssh_user ?? null,
    ssh_private_key: rec.ssh_private_key ?? null,
    known_hosts: rec.known_hosts ?? null,
    instance_id: rec.instance_id ?? null,
    vmfile: rec.vmfile ?? null,
    created_at: rec.created_at || null,
  };
}

/** `status` as aligned "Label: value" lines; absent values are left out. */
export function statusText(rec: VmRecord): string {
  const v = statusView(rec);
  const rows: [string, unknown][] = [
    ["Name", rec.name],
    ["ID", rec.id],
    ["Backend", rec.backend],
    ["State", shownState(rec)],
    ["Reason", v.state_reason],
    ["vCPUs", rec.vcpus],
    ["Memory", `${rec.memory_mb} MB`],
    ["Disk", rec.disk_gb ? `${rec.disk_gb} GB` : null],
    ["Network", describeNetwork(rec.network)],
    ["WorkDir", rec.work_dir],
    ["Image", v.image_path ?? (rec.image_source as { url?: string } | undefined)?.url],
    ["Overlay", v.overlay_path],
    ["Seed", v.seed_iso_path],
    ["PID", v.pid],
    ["VNC", v.vnc],
    [
      "SSH",
      rec.ssh_host_port
        ? `127.0.0.1:${rec.ssh_host_port} (user ${rec.ssh_user ?? DEFAULT_SSH_USER})`
        : null,
    ],
    ["MAC", v.mac],
    ["SSH key", v.ssh_private_key],
    ["KnownHosts", v.known_hosts],
    ["VMFile", v.vmfile],
    ["Created", v.created_at],
  ];
  const shown = rows.filter(([, val]) => val !== null && val !== undefined && val !== "");
  const width = Math.max(...shown.map(([k]) => k.length)) + 2;
  return shown.map(([k, val]) => `${(k + ":").padEnd(width)}${val}`).join("\n");
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

/** One-line description of a network config. */
export function describeNetwork(n: NetworkConfig): string {
  switch (n.type) {
    case "tap":
      return `tap (bridge ${n.bridge})`;
    case "vnic":
      return `vnic (${n.name})`;
    case "user":
      return "user (SLIRP, SSH forwarded on 127.0.0.1)";
    default:
      return "none";
  }
}
