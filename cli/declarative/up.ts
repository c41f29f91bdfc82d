/**
 * `vmctl up [--file] [--name] [--no-provision] [--timeout S] [--dry-run]`:
 * converge each VM of the VMFile, in file order, to running (the decisions
 * are in vm/converge.ts).
 *
 * @module
 */
import { opsContext, sshBudget } from "../common.ts";
import { type TargetOptions, upCourses } from "../../vm/converge.ts";
import { followCourses } from "../../vm/course.ts";

export interface UpOptions extends TargetOptions {
  provision: boolean;
  /** Boot VMs that have a saved state afresh, discarding it. */
  fresh?: boolean;
  timeout?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** The action of `vmctl up`. */
export async function upCommand(o: UpOptions): Promise<void> {
  const timeoutMs = sshBudget(o.timeout);
  const ctx = opsContext({ dryRun: o.dryRun, json: o.json });
  await followCourses(
    ctx,
    await upCourses(ctx, o, { skip: !o.provision, timeoutMs }, { fresh: o.fresh }),
  );
}
