/**
 * Helpers shared by the VM commands: the backend context, option parsing with
 * diagnostics, and plain-text output (aligned tables, durations).
 *
 * @module
 */
import { Diagnostic, EXIT_USAGE } from "../lib/diagnostics.ts";
import { createRunner } from "../backends/exec.ts";
import { dataPaths } from "../lib/paths.ts";
import { validateVmName } from "../lib/names.ts";
import type { VmContext } from "../vm/context.ts";
import { quitNow } from "./run.ts";

/** What every VM operation needs: where state lives and how to run commands. */
export type OpsContext = VmContext;

/** Build the context for a command; with `dryRun`, plans are printed and never applied. */
export function opsContext(opts: { dryRun?: boolean; json?: boolean } = {}): OpsContext {
  const dryRun = opts.dryRun ?? false;
  if (opts.json && !dryRun) {
    throw usageError(
      "vmctl::usage::json_without_dry_run",
      "--json prints a plan, so it needs --dry-run",
      "add --dry-run to see the plan as JSON, or drop --json",
    );
  }
  return {
    paths: dataPaths(),
    runner: createRunner(),
    dryRun,
    planJson: opts.json ?? false,
    say: (line) => console.log(line),
    forceQuit: quitNow,
  };
}

/** Validate a VM name given on the command line (before it touches the disk). */
export function vmNameArg(name: string): string {
  return validateVmName(name);
}

/** A usage-level diagnostic (exit code 2): bad option values and combinations. */
export function usageError(code: string, message: string, hint: string): Diagnostic {
  return new Diagnostic(code, message, { hint, exitCode: EXIT_USAGE });
}

/**
 * Parse an integer option strictly: digits only, within [min, max].
 * `--vcpus 2x`, `--vcpus 0`, `--memory 1e9` are refused with the range in the hint.
 */
export function intOption(
  value: string | undefined,
  flag: string,
  range: { min: number; max: number },
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw usageError(
      "vmctl::usage::invalid_number",
      `${flag} must be a whole number from ${range.min} to ${range.max}, got ${
        JSON.stringify(value)
      }`,
      `for example: ${flag} ${Math.max(range.min, Math.min(range.max, 2))}`,
    );
  }
  return n;
}

/** A timeout in seconds (0 < t <= 24 h) converted to milliseconds. */
export function timeoutOption(value: string | undefined, flag = "--timeout"): number | undefined {
  const s = intOption(value, flag, { min: 1, max: 86_400 });
  return s === undefined ? undefined : s * 1000;
}

/** One of a fixed set of words. */
export function choiceOption<T extends string>(
  value: string | undefined,
  flag: string,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw usageError(
    "vmctl::usage::invalid_choice",
    `${flag} must be one of ${choices.join(", ")}, got ${JSON.stringify(value)}`,
    `for example: ${flag} ${choices[0]}`,
  );
}

/** Render rows as left-aligned columns separated by two spaces (no trailing spaces). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Print a value as pretty JSON on stdout. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

/** Parse the SSH readiness budget (`--timeout`, seconds; default 120). */
export function sshBudget(value: string | undefined): number {
  return timeoutOption(value) ?? 120_000;
}
