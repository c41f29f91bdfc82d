/**
 * The one wrapper that runs external commands: argv arrays only (never a
 * shell string), a timeout on every call, stderr captured into the error, and
 * a recorder so `--dry-run` and tests can see what would run. Three other
 * shapes of run live here too, so no other module spawns a process:
 * {@link execStreaming} (output passed on as it arrives: provisioning over
 * ssh), {@link execInteractive} (the terminal handed to the child: `vmctl
 * ssh`) and {@link execSync} (tiny synchronous queries: `ps`, `kill`).
 *
 * @module
 */
import { COMMAND_TIMEOUT_MS } from "../lib/defaults.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import { log } from "../lib/log.ts";
import { formatArgv } from "../lib/plan.ts";
import { host, isNotFound, isPermissionRefused } from "../host/mod.ts";
import type { Child, ChildStatus, SpawnOptions } from "../host/mod.ts";

export interface ExecOptions {
  /** Kill the command after this many milliseconds (default COMMAND_TIMEOUT_MS). */
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
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command line the runner ran, with its stdin when it had one (zonecfg scripts). */
export interface RecordedCommand {
  argv: string[];
  stdin?: string;
}

/**
 * Runs commands, and keeps the log of what it ran. A dry run never reaches a
 * runner: it prints the plan instead of applying it (lib/plan.ts).
 */
export interface Runner {
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Every command run, in order. */
  readonly recorded: RecordedCommand[];
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Create a runner. */
export function createRunner(): Runner {
  const recorded: RecordedCommand[] = [];
  return {
    recorded,
    async run(argv, o = {}) {
      const stdin = typeof o.stdin === "string" ? o.stdin : o.stdin && decoder.decode(o.stdin);
      recorded.push(stdin === undefined ? { argv: [...argv] } : { argv: [...argv], stdin });
      return await execCommand(argv, o);
    },
  };
}

export { formatArgv };

/** Run one command to completion. Prefer a {@link Runner}; this is its engine. */
export async function execCommand(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
  log.debug(`exec: ${formatArgv(argv)}`);
  const child = await spawnChild(argv, {
    cwd: o.cwd,
    env: o.env,
    stdin: o.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  if (o.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(typeof o.stdin === "string" ? encoder.encode(o.stdin) : o.stdin).catch(() => {});
    await w.close().catch(() => {});
  }
  const timeoutMs = o.timeoutMs ?? COMMAND_TIMEOUT_MS;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killQuietly(child);
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

/** Options for {@link execStreaming}. */
export interface StreamOptions {
  /** Bytes to feed the command, or a local file to stream in. */
  stdin?: Uint8Array | { file: string };
  /** Each stdout chunk, as it arrives. */
  onStdout?: (chunk: Uint8Array) => void;
  /** Each stderr chunk, as it arrives. */
  onStderr?: (chunk: Uint8Array) => void;
  /** Kill the command after this long (default: no limit; provisioning steps can take long). */
  timeoutMs?: number;
}

export interface StreamResult {
  code: number;
  /** The last 4 KiB of stderr, for error messages. */
  stderrTail: string;
  timedOut: boolean;
}

/** Run `argv`, passing its output on chunk by chunk; resolves with the exit status. */
export async function execStreaming(argv: string[], o: StreamOptions = {}): Promise<StreamResult> {
  log.debug(`exec (streaming): ${formatArgv(argv)}`);
  const child = await spawnChild(argv, {
    stdin: o.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  let timedOut = false;
  const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    killQuietly(child);
  }, o.timeoutMs);
  let stderrTail = "";
  const tailDecoder = new TextDecoder();
  const feeding = feedStdin(child, o.stdin);
  const pumping = Promise.all([
    pump(child.stdout, (c) => o.onStdout?.(c)),
    pump(child.stderr, (c) => {
      stderrTail = (stderrTail + tailDecoder.decode(c, { stream: true })).slice(-4096);
      o.onStderr?.(c);
    }),
  ]);
  const status = await child.status;
  await pumping;
  await feeding;
  if (timer !== undefined) clearTimeout(timer);
  return { code: status.code, stderrTail, timedOut };
}

async function pump(stream: ReadableStream<Uint8Array>, sink: (c: Uint8Array) => void) {
  for await (const chunk of stream) sink(chunk);
}

async function feedStdin(child: Child, stdin: StreamOptions["stdin"]): Promise<void> {
  if (stdin === undefined) return;
  if (stdin instanceof Uint8Array) {
    const w = child.stdin.getWriter();
    await w.write(stdin).catch(() => {});
    await w.close().catch(() => {});
    return;
  }
  const file = await host.open(stdin.file, { read: true });
  // pipeTo closes both ends; a child that exits early makes it reject (broken pipe): harmless,
  // the exit status tells what happened.
  await file.readable.pipeTo(child.stdin).catch(() => {});
}

/** Run `argv` on this process's terminal (stdin, stdout, stderr inherited); resolves with its status. */
export async function execInteractive(argv: string[]): Promise<ChildStatus> {
  log.debug(`exec (interactive): ${formatArgv(argv)}`);
  const child = await spawnChild(argv, { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  return await child.status;
}

/**
 * Run a tiny query to completion synchronously (stdin and stderr closed):
 * for callers that must stay synchronous, such as the process checks `list`
 * makes once per VM. Spawn failures throw as in {@link execCommand}.
 */
export function execSync(argv: string[]): { code: number; stdout: string } {
  const [cmd, ...args] = argv;
  let out: { code: number; stdout: Uint8Array };
  try {
    out = host.outputSync(cmd, args);
  } catch (err) {
    throw spawnError(cmd, err);
  }
  return { code: out.code, stdout: decoder.decode(out.stdout) };
}

async function spawnChild(argv: string[], stdio: Omit<SpawnOptions, "args">): Promise<Child> {
  if (argv.length === 0) throw new Error("exec: empty argv");
  const [cmd, ...args] = argv;
  try {
    return await host.spawn(cmd, { ...stdio, args });
  } catch (err) {
    throw spawnError(cmd, err);
  }
}

function killQuietly(child: Child): void {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
}

/** Map a spawn failure to a diagnostic naming the tool or the missing permission. */
export function spawnError(cmd: string, err: unknown): Diagnostic {
  if (isNotFound(err)) {
    return new Diagnostic(
      "vmctl::exec::not_found",
      `required program \`${cmd}\` was not found on PATH`,
      {
        hint: `install ${cmd} (see the README's requirements) or add it to PATH`,
        cause: err,
      },
    );
  }
  if (isPermissionRefused(err)) {
    return new Diagnostic(
      "vmctl::permission::denied",
      `permission to run \`${cmd}\` was withheld`,
      {
        hint: host.runtime === "node"
          ? "grant it with --allow-child-process"
          : `grant it with --allow-run=${cmd}`,
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
