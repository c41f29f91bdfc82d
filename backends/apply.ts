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
import { host } from "../host/mod.ts";
import type { Signal } from "../host/mod.ts";

/** Exit code of an interrupted command (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;
const INTERRUPTED = "vmctl::interrupted";
/** How a detail line of a failed apply starts when an undo failed too (something is left). */
export const ROLLBACK_FAILED = "ROLLBACK FAILED";

export interface ApplyOptions {
  /** Called before each step runs (progress lines). */
  onStep?: (step: Step, index: number) => void;
  /** Called on a second signal: the user wants out now (cli passes a process exit). */
  forceQuit?: () => void;
  /** Prefix of the failure message ("creating zone web01"); default the plan title. */
  what?: string;
  /** Diagnostic code of an interrupt (default `vmctl::interrupted`). */
  interruptCode?: string;
  /**
   * Rethrow a step's failure as it came, adding only undos that failed: for
   * plans whose undo is bookkeeping (clearing a busy mark) rather than a
   * rollback worth reading. An interrupt is reported as usual.
   */
  keepCause?: boolean;
  /** Hint of an interrupt (default: what had been done was undone; run the command again). */
  interruptHint?: string;
  /** Hint when the failure's cause has none (default: fix the cause and run the command again). */
  hint?: string;
  /** Wording of the failure's message (default {@link failureMessage}). */
  message?: (failure: Failure) => string;
}

/** What {@link ApplyOptions.message} words: the operation, its cause, the step it stopped at. */
export interface Failure {
  what: string;
  cause: Diagnostic;
  /** The step that failed or, for an interrupt, the last step that ran. */
  step?: Step;
  interrupted: boolean;
}

/**
 * What an undo's `run` resolves to when it found nothing to undo (its step
 * never took effect): the rollback report does not list it.
 */
export const NOTHING_TO_UNDO: unique symbol = Symbol("nothing to undo");

/** What a successful apply did. */
export interface ApplyResult {
  /** Titles of the steps that ran, in order. */
  ran: string[];
}

/** Run `p`; on failure or interrupt undo what ran, in reverse, and throw. */
export async function apply(p: Plan, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const trap = trapSignals(
    opts.interruptCode ?? INTERRUPTED,
    opts.interruptHint ?? INTERRUPT_HINT,
    opts.forceQuit,
  );
  const done: Undo[] = [];
  const ran: string[] = [];
  let current: Step | undefined;
  try {
    for (const [i, step] of p.steps.entries()) {
      trap.check();
      current = step;
      opts.onStep?.(step, i);
      try {
        await step.run(trap.signal);
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
    const diag = await rollback(opts.what ?? p.title, current, err, done, opts);
    if (!opts.keepCause || diag.exitCode === EXIT_INTERRUPTED) throw diag;
    throw withFailedUndos(err, diag);
  } finally {
    trap.release();
  }
}

/** The diagnostic of an interrupted operation. */
export function interrupted(
  signal: string,
  code = INTERRUPTED,
  hint = INTERRUPT_HINT,
): Diagnostic {
  return new Diagnostic(code, `interrupted by ${signal}`, { hint, exitCode: EXIT_INTERRUPTED });
}

const INTERRUPT_HINT = "what had been done was undone; run the command again when you are ready";

/** The default wording: "WHAT failed (could not STEP): CAUSE", "WHAT: interrupted by SIG (after: STEP)". */
export function failureMessage(f: Failure): string {
  return f.interrupted
    ? `${f.what}: ${f.cause.message}${f.step ? ` (after: ${f.step.title})` : ""}`
    : `${f.what} failed${f.step ? ` (could not ${f.step.title})` : ""}: ${f.cause.message}`;
}

async function rollback(
  what: string,
  failed: Step | undefined,
  err: unknown,
  undos: Undo[],
  opts: ApplyOptions,
): Promise<Diagnostic> {
  const cause = toDiagnostics(err)[0];
  const details = [...cause.details];
  for (const u of undos.reverse()) {
    const line = describeUndo(u);
    try {
      if (await u.run() === NOTHING_TO_UNDO) continue;
      details.push(`rolled back: ${line}`);
    } catch (e) {
      details.push(`${ROLLBACK_FAILED}: ${line}: ${toDiagnostics(e)[0].message}`);
      log.warn(`undo failed: ${line}`);
    }
  }
  const failure = { what, cause, step: failed, interrupted: cause.exitCode === EXIT_INTERRUPTED };
  return new Diagnostic(cause.code, (opts.message ?? failureMessage)(failure), {
    details,
    hint: cause.hint ?? opts.hint ?? "fix the cause and run the command again",
    span: cause.span,
    exitCode: cause.exitCode,
    cause: err,
  });
}

/** `err` with the undo failures of `rolledBack` added to its details. */
function withFailedUndos(err: unknown, rolledBack: Diagnostic): unknown {
  const failed = rolledBack.details.filter((d) => d.startsWith(ROLLBACK_FAILED));
  if (failed.length === 0) return err;
  const cause = toDiagnostics(err)[0];
  cause.details.push(...failed);
  return cause;
}

function describeUndo(u: Undo): string {
  return describeAction(u.action)[0].replace(/^\$ /, "");
}

interface SignalTrap {
  /** Aborted (with the interrupt's diagnostic) once a signal arrived. */
  signal: AbortSignal;
  check(): void;
  release(): void;
}

const SIGNALS: Signal[] = ["SIGINT", "SIGTERM"];

/** Note SIGINT/SIGTERM while a plan runs; `check()` throws once one arrived. */
function trapSignals(code: string, hint: string, forceQuit?: () => void): SignalTrap {
  let caught: string | undefined;
  const ctl = new AbortController();
  const handlers = SIGNALS.map((sig) => {
    const h = () => {
      if (caught) return forceQuit?.();
      caught = sig;
      log.warn(`${sig}: undoing what was done (again to quit at once)`);
      ctl.abort(interrupted(sig, code, hint));
    };
    return host.onSignal(sig, h);
  });
  return {
    signal: ctl.signal,
    check() {
      if (caught) throw interrupted(caught, code, hint);
    },
    release() {
      for (const stopListening of handlers) stopListening();
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
      if (when && !await when()) return NOTHING_TO_UNDO;
      await runner.run(argv, exec);
    },
  };
}

/** A change to a state file under its lock (`file`: which one; `change`: what, for people). */
export function storeStep(
  title: string,
  file: string,
  change: string,
  run: () => Promise<unknown>,
  undo?: Undo,
): Step {
  return { title, action: { kind: "store", file, change }, run, undo };
}

/** A step vmctl performs itself (no single command shows it), with its undo. */
export function taskStep(
  title: string,
  detail: string,
  run: Step["run"],
  undo?: Undo,
): Step {
  return { title, action: { kind: "task", detail }, run, undo };
}

/** A file written with `mode` by `run` (atomically), with its undo. */
export function writeStep(
  title: string,
  file: { path: string; mode: number; text: string },
  run: () => Promise<unknown>,
  undo?: Undo,
): Step {
  return { title, action: { kind: "write", ...file }, run, undo };
}
