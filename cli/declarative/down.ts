/**
 * `vmctl down [--file] [--name] [--destroy] [--timeout S] [--dry-run]`: stop
 * (or destroy) the VMs of the VMFile. Only VMs this VMFile created are
 * destroyed; a same-named VM from elsewhere is refused with a diagnostic.
 *
 * @module
 */
import { STOP_TIMEOUT_MS } from "../../lib/defaults.ts";
import { opsContext, timeoutOption, usageError } from "../common.ts";
import { downCourses, type TargetOptions } from "../../vm/converge.ts";
import { followCourses } from "../../vm/course.ts";

export interface DownOptions extends TargetOptions {
  destroy?: boolean;
  /** Take over a VM created from another VMFile path (a moved project). */
  adopt?: boolean;
  /** Save the running state; the next `up` resumes it. */
  save?: boolean;
  timeout?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The action of `vmctl down`. */
export async function downCommand(o: DownOptions): Promise<void> {
  if (o.destroy && o.save) {
    throw usageError(
      "vmctl::usage::conflicting_options",
      "--save keeps a state for the next `up`, and --destroy removes the VM",
      "use one of them",
    );
  }
  const timeoutMs = timeoutOption(o.timeout) ?? STOP_TIMEOUT_MS;
  const ctx = opsContext({ dryRun: o.dryRun, json: o.json });
  await followCourses(
    ctx,
    await downCourses(ctx, o, { destroy: o.destroy, adopt: o.adopt, save: o.save, timeoutMs }),
  );
}
