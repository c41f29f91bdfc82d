/**
 * `vmctl reload [--file] [--name] [--no-provision] [--timeout S] [--dry-run]`:
 * destroy each VM (if it exists) and create, start and provision it afresh
 * from the current definition, with a new cloud-init instance-id.
 *
 * @module
 */
import { opsContext, sshBudget } from "../common.ts";
import { reloadCourses, type TargetOptions } from "../../vm/converge.ts";
import { followCourses } from "../../vm/course.ts";

export interface ReloadOptions extends TargetOptions {
  provision: boolean;
  /** Take over a VM created from another VMFile path (a moved project). */
  adopt?: boolean;
  timeout?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The action of `vmctl reload`. */
export async function reloadCommand(o: ReloadOptions): Promise<void> {
  const timeoutMs = sshBudget(o.timeout);
  const ctx = opsContext({ dryRun: o.dryRun, json: o.json });
  await followCourses(
    ctx,
    await reloadCourses(ctx, o, { skip: !o.provision, timeoutMs }, { adopt: o.adopt }),
  );
}
