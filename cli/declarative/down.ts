/**
 * `vmctl down [--file] [--name] [--destroy] [--timeout S] [--dry-run]`: stop
 * (or destroy) the VMs of the VMFile. Only VMs this VMFile created are
 * destroyed; a same-named VM from elsewhere is refused with a diagnostic.
 *
 * @module
 */
import { opsContext, timeoutOption } from "../common.ts";
import { downCourses, type TargetOptions } from "../../vm/converge.ts";
import { followCourses } from "../../vm/course.ts";

export interface DownOptions extends TargetOptions {
  destroy?: boolean;
  timeout?: string;
  dryRun?: boolean;
}

/** The action of `vmctl down`. */
export async function downCommand(o: DownOptions): Promise<void> {
  const timeoutMs = timeoutOption(o.timeout) ?? 30_000;
  const ctx = opsContext({ dryRun: o.dryRun });
  await followCourses(ctx, await downCourses(ctx, o, { destroy: o.destroy, timeoutMs }));
}
