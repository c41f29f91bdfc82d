/**
 * Process-level glue: parse argv, run the action, render diagnostics, pick
 * the exit code (0 ok, 1 user error, 2 usage error). User errors never show a
 * stack trace unless VMCTL_LOG=debug.
 *
 * @module
 */
import type { Command, CommanderError } from "@commander-js/extra-typings";
import { EXIT_USAGE, renderDiagnostic, toDiagnostics } from "../lib/diagnostics.ts";
import { EXIT_INTERRUPTED } from "../backends/apply.ts";
import { enabled } from "../lib/log.ts";
import { host } from "../host/mod.ts";

/** True when stderr is a terminal (colour on). NO_COLOR disables it. */
export function stderrColor(): boolean {
  try {
    return host.stderr.isTerminal() && !host.env("NO_COLOR");
  } catch {
    return false;
  }
}

/** Print diagnostics for `err` and return the exit code to use. */
export function reportError(err: unknown): number {
  const diags = toDiagnostics(err);
  const color = stderrColor();
  const stack = enabled("debug");
  for (const d of diags) console.error(renderDiagnostic(d, { color, stack }));
  return diags.reduce((code, d) => Math.max(code, d.exitCode), 1);
}

/**
 * Quit at once with the interrupt exit code: a second Ctrl+C while vmctl is
 * undoing an interrupted operation (what is left shows as `failed` in
 * `vmctl list`, and `vmctl destroy` removes it).
 */
export function quitNow(): never {
  host.exit(EXIT_INTERRUPTED);
}

/** Parse and run; exits the process with the right code. */
export async function runMain(
  program: Command,
  args: string[],
  commanderError: typeof CommanderError,
): Promise<never> {
  program.exitOverride();
  program.configureOutput({ outputError: (s, write) => write(s) });
  applyExitOverride(program);
  try {
    await program.parseAsync(args, { from: "user" });
    // 0 unless an action set another status (`vmctl ssh` returns the remote command's).
    host.exit(host.exitCode);
  } catch (err) {
    if (err instanceof commanderError) {
      // help and version are "errors" in commander; they exit 0.
      if (err.exitCode === 0) host.exit(0);
      host.exit(EXIT_USAGE);
    }
    host.exit(reportError(err));
  }
}

function applyExitOverride(cmd: Command): void {
  for (const sub of cmd.commands as Command[]) {
    sub.exitOverride();
    applyExitOverride(sub);
  }
}
