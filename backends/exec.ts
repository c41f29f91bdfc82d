/**
 * The one wrapper that runs external commands: argv arrays only (never a
 * shell string), a timeout on every call, stderr captured into the error, and
 * a recorder so `--dry-run` and tests can see what would run.
 *
 * @module
 */
import { Diagnostic } from "../lib/diagnostics.ts";
import { log } from "../lib/log.ts";
import { formatArgv } from "../lib/plan.ts";

export interface ExecOptions {
  /** Kill the command after this many milliseconds (default 120 000). */
  timeoutMs?: number;
  /** Bytes or text written to the command's stdin. */
  stdin?: string | Uint8Array;
  env?: Record<string, string>;
  cwd?: string;
  /** Throw a diagnostic on a non-zero exit (default true). */
  check?: boolean;
  /** Diagnostic code used when the command fails (default `vmctl::exec::failed`). */
  errorCode?: string;
  /** Hint attached to the failure diagnostic. */
  hint?: string;
  /** True for commands that only read state: they still run under --dry-run. */
  readOnly?: boolean;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the command was only recorded (dry run), not run. */
  recorded?: boolean;
}

/** A recorded command line, with its stdin when it had one (zonecfg scripts). */
export interface RecordedCommand {
  argv: string[];
  stdin?: string;
}

/** Runs commands; a dry-run runner records mutating commands instead of running them. */
export interface Runner {
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  readonly dryRun: boolean;
  /** Every command seen, in order (run or recorded). */
  readonly recorded: RecordedCommand[];
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Create a runner. With `dryRun`, commands not marked `readOnly` are only recorded. */
export function createRunner(opts: { dryRun?: boolean } = {}): Runner {
  const recorded: RecordedCommand[] = [];
  const dryRun = opts.dryRun ?? false;
  return {
    dryRun,
    recorded,
    async run(argv, o = {}) {
      const stdin = typeof o.stdin === "string" ? o.stdin : o.stdin && decoder.decode(o.stdin);
      recorded.push(stdin === undefined ? { argv: [...argv] } : { argv: [...argv], stdin });
      if (dryRun && !o.readOnly) return { code: 0, stdout: "", stderr: "", recorded: true };
      return await execCommand(argv, o);
    },
  };
}

export { formatArgv };

/** Run one command to completion. Prefer a {@link Runner}; this is its engine. */
export async function execCommand(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0) throw new Error("execCommand: empty argv");
  const [cmd, ...args] = argv;
  log.debug(`exec: ${formatArgv(argv)}`);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      cwd: o.cwd,
      env: o.env,
      stdin: o.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw spawnError(cmd, err);
  }
  if (o.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(typeof o.stdin === "string" ? encoder.encode(o.stdin) : o.stdin).catch(() => {});
    await w.close().catch(() => {});
  }
  const timeoutMs = o.timeoutMs ?? 120_000;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  const out = await child.output().finally(() => clearTimeout(timer));
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if (timedOut) {
    throw new Diagnostic(
      "vmctl::exec::timeout",
      `\`${formatArgv(argv)}\` did not finish in ${timeoutMs / 1000} s`,
      {
        hint: o.hint ?? "the command hung; check the system it talks to",
        details: tailLines(result.stderr, 10),
      },
    );
  }
  if (result.code !== 0 && (o.check ?? true)) {
    throw new Diagnostic(
      o.errorCode ?? "vmctl::exec::failed",
      `\`${formatArgv(argv)}\` failed with exit code ${result.code}`,
      { hint: o.hint, details: tailLines(result.stderr || result.stdout, 20) },
    );
  }
  return result;
}

/** Map a spawn failure to a diagnostic naming the tool or the missing permission. */
export function spawnError(cmd: string, err: unknown): Diagnostic {
  if (err instanceof Deno.errors.NotFound) {
    return new Diagnostic(
      "vmctl::exec::not_found",
      `required program \`${cmd}\` was not found on PATH`,
      {
        hint: `install ${cmd} (see the README's requirements) or add it to PATH`,
        cause: err,
      },
    );
  }
  if (err instanceof Error && (err.name === "NotCapable" || err.name === "PermissionDenied")) {
    return new Diagnostic(
      "vmctl::permission::denied",
      `permission to run \`${cmd}\` was withheld`,
      {
        hint: `grant it with --allow-run=${cmd}`,
        cause: err,
      },
    );
  }
  return new Diagnostic("vmctl::exec::spawn_failed", `could not start \`${cmd}\`: ${String(err)}`, {
    hint: "check that the program is executable",
    cause: err,
  });
}

function tailLines(text: string, n: number): string[] {
  const lines = text.trimEnd().split("\n").filter((l) => l.length > 0);
  return lines.slice(-n);
}
