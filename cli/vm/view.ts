/**
 * What `list` and `status` show of a record (reconciled by vm/reconcile.ts):
 * plain objects for `--json` and text.
 *
 * @module
 */
import { pidAlive } from "../../backends/proc.ts";
import { busyHolder } from "../../lib/store.ts";
import { describeNetwork, type VmRecord } from "../../lib/types.ts";
import { busyLabel } from "../../vm/lifecycle.ts";
import { DEFAULT_SSH_USER } from "../../lib/defaults.ts";
import { describeForward, describeMount } from "../../lib/forwards.ts";

/** The text shown in the STATE column: the state, or what a busy vmctl is doing. */
export function shownState(rec: VmRecord): string {
  const op = busyHolder(rec, pidAlive);
  if (!op) return rec.state;
  return busyLabel(op.action);
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
    forwards: rec.forwards ?? [],
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
    mounts: rec.mounts ?? [],
    mac: rec.mac_addr ?? null,
    vnc: rec.vnc_addr ?? null,
    uefi: rec.uefi ?? false,
    accel: rec.accel ?? null,
    ssh_user: rec.ssh_user ?? null,
    ssh_private_key: rec.ssh_private_key ?? null,
    known_hosts: rec.known_hosts ?? null,
    instance_id: rec.instance_id ?? null,
    vmfile: rec.vmfile ?? null,
    saved_state: rec.saved_state ?? null,
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
    ["Image", v.image_path ?? (rec.image_source?.kind === "url" ? rec.image_source.url : null)],
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
    ...(rec.forwards ?? []).map((f): [string, unknown] => ["Forward", describeForward(f)]),
    ...(rec.mounts ?? []).map((m): [string, unknown] => ["Mount", describeMount(m)]),
    ["MAC", v.mac],
    ["SSH key", v.ssh_private_key],
    ["KnownHosts", v.known_hosts],
    ["VMFile", v.vmfile],
    [
      "Saved",
      rec.saved_state
        ? `running state saved ${rec.saved_state.saved_at} (QEMU ${rec.saved_state.qemu_version}, ${rec.saved_state.machine}); the next start resumes it`
        : null,
    ],
    ["Created", v.created_at],
  ];
  const shown = rows.filter(([, val]) => val !== null && val !== undefined && val !== "");
  const width = Math.max(...shown.map(([k]) => k.length)) + 2;
  return shown.map(([k, val]) => `${(k + ":").padEnd(width)}${val}`).join("\n");
}
