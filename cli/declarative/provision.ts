/**
 * `vmctl provision [--file] [--name] [--timeout S] [--dry-run]`: re-run the
 * provisioners of running VMs. The VM must exist, run, and have an `ssh` block.
 *
 * @module
 */
import { opsContext, sshBudget } from "../common.ts";
import { provisionCourses, type TargetOptions } from "../../vm/converge.ts";
import { followCourses } from "../../vm/course.ts";

/** The action of `vmctl provision`. */
export async function provisionCommand(
  o: TargetOptions & { timeout?: string; dryRun?: boolean; json?: boolean },
): Promise<void> {
  const timeoutMs = sshBudget(o.timeout);
  const ctx = opsContext({ dryRun: o.dryRun, json: o.json });
  await followCourses(ctx, await provisionCourses(ctx, o, timeoutMs));
}
