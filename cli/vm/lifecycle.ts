/**
 * `vmctl start|stop|suspend|resume|destroy NAME`: thin wrappers over the
 * lifecycle of vm/lifecycle.ts, printing one line each.
 *
 * @module
 */
import { ACCELS } from "../../lib/types.ts";
import { choiceOption, opsContext, timeoutOption, vmNameArg } from "../common.ts";
import { destroyCourse, type Transition, transitionCourse } from "../../vm/lifecycle.ts";
import { followCourses } from "../../vm/course.ts";

/** The action of `vmctl start|stop|suspend|resume NAME`. */
export async function transitionCommand(
  action: Transition,
  name: string,
  opts: {
    timeout?: string;
    accel?: string;
    save?: boolean;
    fresh?: boolean;
    newPort?: boolean;
    dryRun?: boolean;
    json?: boolean;
  } = {},
): Promise<void> {
  vmNameArg(name);
  const timeoutMs = timeoutOption(opts.timeout);
  const accel = choiceOption(opts.accel, "--accel", ACCELS);
  const ctx = opsContext({ dryRun: opts.dryRun, json: opts.json });
  const { save, fresh, newPort } = opts;
  await followCourses(ctx, [
    await transitionCourse(ctx, name, action, { timeoutMs, accel, save, fresh, newPort }),
  ]);
}

/** The action of `vmctl destroy NAME`. */
export async function destroyCommand(
  name: string,
  opts: { timeout?: string; dryRun?: boolean; json?: boolean },
): Promise<void> {
  vmNameArg(name);
  const timeoutMs = timeoutOption(opts.timeout);
  const ctx = opsContext({ dryRun: opts.dryRun, json: opts.json });
  await followCourses(ctx, [await destroyCourse(ctx, name, { timeoutMs })]);
}
