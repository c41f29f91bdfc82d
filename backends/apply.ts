/**
 * `apply`: the one way a {@link Plan} is carried out. Steps run in order; when
 * one fails, or SIGINT/SIGTERM arrives (noted, then honoured at the next step
 * boundary), the completed steps are undone in reverse and the failure is
 * rethrown as a Diagnostic that names the failed step and lists what was
 * rolled back (only undos that actually ran). An interrupt ends with
 * `vmctl::interrupted` (exit 130).
 *
 * Also the constructors of the common step kinds, bound to the one runner.
 *
 * @module
 */
import { Diagnostic, toDiagnostics } from "../lib/diagnostics.ts";
import { log } from "../lib/log.ts";
import { describeAction, type Plan, type Step, type Undo } from "../lib/plan.ts";
import type { ExecOptions, Runner } from "./exec.ts";

/** Exit code of an interrupted command (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;
const INTERRUPTED = "vmctl::interrupted";

export interface ApplyOptions {
  /** Called before each step runs (progress lines). */
  onStep?: (step: Step, index: number) => void;
  /** Called on a second signal: the user wants out now (cli passes a process exit). */
  forceQuit?: () => void;
  /** Prefix of the failure message ("creating zone web01"); default the plan title. */
  what?: string;
  /** Diagnostic code of an interrupt (default `vmctl::interrupted`). */
  interruptCode?: string;
}

/** What a successful apply did. */
export interface ApplyResult {
  /** Titles of the steps that ran, in order. */
  ran: string[];
}

/** Run `p`; on failure or interrupt undo what ran, in reverse, and throw. */
export async function apply(p: Plan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const trap = trapSignals(opts.interruptCode ?? INTERRUPTED, opts.forceQuit);
  const done: Undo[] = [];
  const ran: string[] = [];
  let current: Step | undefined;
  try {
    for (const [i, step] of p.steps.entries()) {
      trap.check();
      current = step;
      opts.onStep?.(step, i);
      try {
        await step.run();
      } catch (err) {
        if (step.undo?.afterFailure) done.push(step.undo);
        throw err;
      }
      ran.push(step.title);
      if (step.undo) done.push(step.undo);
    }
    trap.check();
    return { ran };
  } catch (err) {
    throw await rollback(opts.what ?? p.title, current, err, done);
  } finally {
    trap.release();
  }
}

/** The diagnostic of an interrupted operation. */
export function interrupted(signal: string, code = INTERRUPTED): Diagnostic {
  return new Diagnostic(code, `interrupted by ${signal}`, {
    hint: "what had been done was undone; run the command again when you are ready",
    exitCode: EXIT_INTERRUPTED,
  });
}

async function rollback(
  what: string,
  failed: Step | undefined,
  err: unknown,
  undos: Undo[],
): Promise<Diagnostic> {
  const cause = toDiagnostics(err)[0];
  const details = [...cause.details];
  for (const u of undos.reverse()) {
    const line = describeUndo(u);
    try {
      await u.run();
      details.push(`rolled back: ${line}`);
    } catch (e) {
      details.push(`ROLLBACK FAILED: ${line}: ${toDiagnostics(e)[0].message}`);
      log.warn(`undo failed: ${line}`);
    }
  }
  const message = cause.exitCode === EXIT_INTERRUPTED
    ? `${what}: ${cause.message}${failed ? ` (after: ${failed.title})` : ""}`
    : `${what} failed${failed ? ` (could not ${failed.title})` : ""}: ${cause.message}`;
  return new Diagnostic(cause.code, message, {
    details,
    hint: cause.hint ?? "fix the cause and run the command again",
    span: cause.span,
    exitCode: cause.exitCode,
    cause: err,
  });
}

function describeUndo(u: Undo): string {
  return describeAction(u.action)[0].replace(/^\$ /, "");
}

interface SignalTrap {
  check(): void;
  release(): void;
}

const SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM"];

/** Note SIGINT/SIGTERM while a plan runs; `check()` throws once one arrived. */
function trapSignals(code: string, forceQuit?: () => void): SignalTrap {
  let caught: string | undefined;
  const handlers = SIGNALS.map((sig) => {
    const h = () => {
      if (caught) return forceQuit?.();
      caught = sig;
      log.warn(`${sig}: undoing what was done (again to quit at once)`);
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  return {
    check() {
      if (caught) throw interrupted(caught, code);
    },
    release() {
      for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    },
  };
}

/** A step that runs `argv` through the runner. */
export function runStep(
  runner: Runner,
  title: string,
  argv: string[],
  opts: ExecOptions & { undo?: Undo } = {},
): Step {
  const { undo, ...exec } = opts;
  const stdin = typeof exec.stdin === "string" ? exec.stdin : undefined;
  return {
    title,
    action: stdin === undefined ? { kind: "run", argv } : { kind: "run", argv, stdin },
    run: () => runner.run(argv, exec),
    undo,
  };
}

/** An undo that runs `argv` through the runner. */
export function runUndo(
  runner: Runner,
  argv: string[],
  opts: ExecOptions & { afterFailure?: boolean; when?: () => Promise<boolean> } = {},
): Undo {
  const { afterFailure, when, ...exec } = opts;
  return {
    action: { kind: "run", argv },
    afterFailure,
    run: async () => {
      if (when && !await when()) return;
      await runner.run(argv, exec);
    },
  };
}

/** A step vmctl performs itself (no single command shows it), with its undo. */
export function taskStep(
  title: string,
  detail: string,
  run: () => Promise<unknown>,
  undo?: Undo,
): Step {
  return { title, action: { kind: "task", detail }, run, undo };
}
