/**
 * What a command does to each VM, decided before anything changes: for each
 * VM a course of stages, each stage a plan (create, start, provision...) or a
 * line saying why nothing is done. `followCourses` applies the plans in order
 * (printing a line after each, with its time) or, for `--dry-run`, prints the
 * same plans with `renderPlan` and changes nothing.
 *
 * Stages are separate plans because their failures differ: a failed create is
 * undone, a start that fails after it keeps the VM (state failed) to retry.
 *
 * @module
 */
import { apply } from "../backends/apply.ts";
import { log } from "../lib/log.ts";
import { type Plan, planJson, renderPlan } from "../lib/plan.ts";
import type { VmRecord } from "../lib/types.ts";
import type { VmContext } from "./context.ts";

/** One stage: a plan to apply, or a line said instead. */
export type Stage =
  | {
    plan: Plan;
    /** Applies `plan` (with what the stage adds around it); returns the VM's record. */
    apply: () => Promise<VmRecord | void>;
    /** The line printed once it ran, given the record and how long it took. */
    done?: (rec: VmRecord | void, took: string) => string;
    /** Adds to the diagnostic of a failure (what is kept, how to retry). */
    onError?: (err: unknown) => unknown;
  }
  | { note: string }
  | { warn: string };

/** What one command does to one VM. */
export interface Course {
  /** For `--dry-run`: the decision ("web: stopped -> start, provision"). */
  decision?: string;
  /** Printed before the stages run ("==> web"). */
  header?: string;
  stages: Stage[];
}

/** A stage applying `p` as it is (the step's own diagnostic is what the user reads). */
export function planStage(
  ctx: VmContext,
  p: Plan,
  done?: (rec: VmRecord | void, took: string) => string,
): Stage {
  return { plan: p, apply: async () => void await apply(p, keepCause(ctx)), done };
}

/** The apply options of a lifecycle plan. */
export function keepCause(ctx: VmContext): { keepCause: true; forceQuit?: () => void } {
  return { keepCause: true, forceQuit: ctx.forceQuit };
}

/** Apply every course in order (the first failure stops), or print them for `--dry-run`. */
export async function followCourses(ctx: VmContext, courses: Course[]): Promise<void> {
  if (ctx.dryRun && ctx.planJson) return ctx.say(JSON.stringify(coursesJson(courses), null, 2));
  for (const c of courses) {
    if (ctx.dryRun && c.decision) ctx.say(c.decision);
    if (!ctx.dryRun && c.header) ctx.say(c.header);
    for (const s of c.stages) await followStage(ctx, s);
  }
  if (ctx.dryRun) ctx.say("dry run: nothing was changed");
}

/**
 * `--dry-run --json`: every course with its decision and stages, each stage
 * the plan as data or the line said instead.
 */
export function coursesJson(courses: Course[]): { dry_run: true; courses: unknown[] } {
  return {
    dry_run: true,
    courses: courses.map((c) => ({
      decision: c.decision ?? null,
      stages: c.stages.map((s) => "plan" in s ? { plan: planJson(s.plan) } : s),
    })),
  };
}

async function followStage(ctx: VmContext, s: Stage): Promise<void> {
  if ("note" in s) return ctx.say(s.note);
  if ("warn" in s) return ctx.dryRun ? ctx.say(`    ${s.warn}`) : log.warn(s.warn);
  if (ctx.dryRun) return ctx.say(renderPlan(s.plan));
  const t0 = performance.now();
  const rec = await s.apply().catch((err) => {
    throw s.onError ? s.onError(err) : err;
  });
  if (s.done) ctx.say(s.done(rec, formatDuration(performance.now() - t0)));
}

/** "0.42 s" / "1 m 05 s": how long a stage took. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
}
