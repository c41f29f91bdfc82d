/**
 * `vmctl snapshot create|restore|delete NAME SNAP` and `snapshot list NAME`:
 * thin wrappers over vm/snapshot.ts.
 *
 * @module
 */
import { formatTable, opsContext, printJson, vmNameArg } from "../common.ts";
import { followCourses } from "../../vm/course.ts";
import {
  createSnapshotPlan,
  deleteSnapshotPlan,
  listSnapshots,
  restoreSnapshotPlan,
  snapshotCourse,
  validateSnapshotName,
} from "../../vm/snapshot.ts";

/** The action of `vmctl snapshot create|restore|delete NAME SNAP`. */
export async function snapshotCommand(
  action: "create" | "restore" | "delete",
  name: string,
  snap: string,
  opts: { diskOnly?: boolean; dryRun?: boolean; json?: boolean },
): Promise<void> {
  vmNameArg(name);
  validateSnapshotName(snap);
  const ctx = opsContext({ dryRun: opts.dryRun, json: opts.json });
  const course = await snapshotCourse(ctx, name, (backend, vm) => {
    switch (action) {
      case "create":
        return createSnapshotPlan(ctx, backend, vm, snap, { diskOnly: opts.diskOnly });
      case "restore":
        return restoreSnapshotPlan(ctx, backend, vm, snap);
      case "delete":
        return deleteSnapshotPlan(ctx, backend, vm, snap);
    }
  }, `VM '${name}': snapshot '${snap}' ${action === "create" ? "created" : `${action}d`}`);
  await followCourses(ctx, [course]);
}

/** The action of `vmctl snapshot list NAME`. */
export async function snapshotListCommand(name: string, opts: { json?: boolean }): Promise<void> {
  vmNameArg(name);
  const rows = await listSnapshots(opsContext(), name);
  if (opts.json) return printJson(rows);
  if (rows.length === 0) {
    console.log(
      `VM '${name}' has no snapshots. Take one with \`vmctl snapshot create ${name} SNAP\`.`,
    );
    return;
  }
  console.log(formatTable(
    ["NAME", "CREATED", "MEMORY", "SIZE", "QEMU"],
    rows.map((r) => [
      r.name,
      r.created_at,
      r.memory ? "yes" : "no",
      r.memory ? mib(r.vm_state_bytes) : "-",
      r.qemu_version ? `${r.qemu_version} ${r.machine}` : "-",
    ]),
  ));
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
