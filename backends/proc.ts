/**
 * Process facts (is PID alive, what is its command line) that work under the
 * scoped permission set too. Deno refuses any read under /proc or /dev
 * without --allow-all, whatever --allow-read says, so when it refuses we ask
 * `ps` (procps on Linux, the native ps on illumos; both take -p and -o args=).
 *
 * @module
 */
import { execSync } from "./exec.ts";
import { host, isNotFound, isPermissionRefused } from "../host/mod.ts";
import type { Signal } from "../host/mod.ts";

function ps(args: string[]): { code: number; stdout: string } {
  return execSync(["ps", ...args]);
}

/** True when a process with `pid` exists. */
export function pidAlive(pid: number): boolean {
  return host.processExists(pid);
}

/**
 * The command line of `pid` with arguments joined by single spaces, or null
 * when there is no such process (or it is a zombie, which has none).
 */
export function commandLine(pid: number): string | null {
  try {
    const raw = host.readTextFileSync(`/proc/${pid}/cmdline`);
    return raw === "" ? null : raw.replace(/\0$/, "").replaceAll("\0", " ");
  } catch (err) {
    if (isNotFound(err)) return null;
    if (!isPermissionRefused(err)) throw err;
  }
  const r = ps(["-ww", "-p", String(pid), "-o", "args="]);
  const line = r.stdout.trim();
  // A zombie shows as "[name] <defunct>": it has no command line of its own.
  return r.code !== 0 || line === "" || line.endsWith("<defunct>") ? null : line;
}

/**
 * Send `sig` to `pid`; false when the process is already gone. host.kill
 * needs unscoped --allow-run, so under the scoped set we run `kill(1)`.
 */
export function sendSignal(pid: number, sig: Signal): boolean {
  try {
    host.kill(pid, sig);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    if (!isPermissionRefused(err)) throw err;
  }
  return execSync(["kill", "-s", sig.replace(/^SIG/, ""), String(pid)]).code === 0;
}
