/**
 * The file utilities every part shares: the one atomic replace of a file
 * (temp file created with its final mode, fsync, rename, directory fsync), and
 * the one check that a path names a usable regular file, with one wording of
 * what is wrong, and the one tail of a console log shown in diagnostics.
 *
 * @module
 */
import { Diagnostic } from "./diagnostics.ts";
import { dirname } from "./posix_path.ts";
import { sleep } from "./async.ts";
import { errorKind, host, isAlreadyExists, isNotFound } from "../host/mod.ts";
import type { HostFile } from "../host/mod.ts";
import { writeAllSync } from "./file_write.ts";

const encoder = new TextEncoder();

/** What stands between a writer's temp file name and its target (`vms.json.tmp-…`). */
export const TEMP_INFIX = ".tmp-";

/** A fresh temp name next to `path`, for a file that is then renamed onto it. */
export function tempPathFor(path: string): string {
  return `${path}${TEMP_INFIX}${host.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Options for {@link writeAtomic} and {@link writeAtomicWith}. */
export interface AtomicWriteOptions {
  /** Mode of the new file, applied at creation (default 0600: private unless asked). */
  mode?: number;
  /** fsync the file before the rename and the directory after it (default true). */
  sync?: boolean;
  /**
   * The error to throw for a failure: `created` tells whether the temp file
   * was made (a failure before it means the directory is missing or refused).
   * Default: the `vmctl::fs::*` diagnostics of {@link writeAtomic}.
   */
  failure?: (err: unknown, created: boolean) => unknown;
}

/**
 * Replace `path` with `data` atomically: a uniquely named temp file next to it
 * (created exclusively, with its final mode, so it is never readable by
 * others), fsync, rename, then fsync of the directory. The temp file is
 * removed if anything fails. A missing directory or a refused write is a
 * diagnostic naming `path`.
 */
export function writeAtomic(
  path: string,
  data: string | Uint8Array,
  o: AtomicWriteOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return writeAtomicWith(path, async (f) => {
    let done = 0;
    while (done < bytes.length) done += await f.write(bytes.subarray(done));
  }, o);
}

/**
 * {@link writeAtomic} for content written a piece at a time: `fill` writes
 * the temp file (open for writing at its start), then it replaces `path`.
 */
export async function writeAtomicWith(
  path: string,
  fill: (file: HostFile) => void | Promise<void>,
  o: AtomicWriteOptions = {},
): Promise<void> {
  const fail = o.failure ?? ((err: unknown) => writeError(path, err));
  const sync = o.sync ?? true;
  const tmp = tempPathFor(path);
  let file: HostFile;
  try {
    file = await host.open(tmp, { write: true, createNew: true, mode: o.mode ?? 0o600 });
  } catch (err) {
    throw fail(err, false);
  }
  try {
    try {
      await fill(file);
      if (sync) await file.sync();
    } finally {
      file.close();
    }
    await replaceWith(path, tmp, { sync });
  } catch (err) {
    await host.remove(tmp).catch(() => {});
    throw fail(err, true);
  }
}

/**
 * Put the finished file or symlink `from` in the place of `path` (one
 * rename: readers see the old or the new, never a mix), then fsync the
 * directory unless `sync` is false. Errors are passed on as they are.
 */
export async function replaceWith(
  path: string,
  from: string,
  o: { sync?: boolean } = {},
): Promise<void> {
  await host.rename(from, path);
  if (o.sync ?? true) await syncDir(dirname(path));
}

async function syncDir(dir: string): Promise<void> {
  try {
    const d = await host.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Not every platform can fsync a directory; the rename itself is still atomic.
  }
}

function writeError(path: string, err: unknown): unknown {
  if (isNotFound(err)) {
    return new Diagnostic(
      "vmctl::fs::no_directory",
      `cannot write ${path}: its directory does not exist`,
      { hint: "create the directory first, or choose another path", cause: err },
    );
  }
  if (errorKind(err) === "PermissionDenied" && !/--allow/.test(String(err))) {
    return new Diagnostic(
      "vmctl::fs::permission_denied",
      `cannot write ${path}: permission denied`,
      { hint: "choose a directory you can write to", cause: err },
    );
  }
  return err;
}

/**
 * Append `bytes` to the file `path` (created 0600) and fsync it, first
 * cutting it back to `length` when it is longer (what an earlier append that
 * was cut short left past the length its writer recorded). Returns the file's
 * new length.
 */
export async function appendDurably(
  path: string,
  bytes: Uint8Array,
  length?: number,
): Promise<number> {
  const file = await host.open(path, { append: true, create: true, mode: 0o600 });
  try {
    let size = (await file.stat()).size;
    if (length !== undefined && size > length) {
      await file.truncate(length);
      size = length;
    }
    writeAllSync(file, bytes);
    await file.sync();
    return size + bytes.length;
  } finally {
    file.close();
  }
}

/** Why a path cannot be used as an input file. */
export type FileProblem = "missing" | "not_a_file" | "not_a_directory" | "denied";

/**
 * Whether `path` names a regular file (symlinks followed): undefined when it
 * does, else what is wrong. A refused permission of Deno itself (NotCapable)
 * is thrown, for the CLI to name the flag to add.
 */
export function fileProblem(path: string): FileProblem | undefined {
  return pathProblem(path, "file");
}

/** Whether `path` names a directory (symlinks followed), as {@link fileProblem} for files. */
export function dirProblem(path: string): FileProblem | undefined {
  return pathProblem(path, "dir");
}

function pathProblem(path: string, want: "file" | "dir"): FileProblem | undefined {
  try {
    const st = host.statSync(path);
    if (want === "dir") return st.isDirectory ? undefined : "not_a_directory";
    return st.isFile ? undefined : "not_a_file";
  } catch (err) {
    if (isNotFound(err) || errorKind(err) === "NotADirectory") {
      return "missing";
    }
    if (errorKind(err) === "PermissionDenied") return "denied";
    throw err;
  }
}

/** True when `path` names a regular file (see {@link fileProblem}). */
export function isFile(path: string): boolean {
  return fileProblem(path) === undefined;
}

/** The one wording of a {@link FileProblem}: `${what} ${path} does not exist`, .... */
export function describeFileProblem(problem: FileProblem, what: string, path: string): string {
  switch (problem) {
    case "missing":
      return `${what} ${path} does not exist`;
    case "not_a_file":
      return `${what} ${path} is not a regular file`;
    case "not_a_directory":
      return `${what} ${path} is not a directory`;
    case "denied":
      return `${what} ${path} cannot be accessed (permission denied)`;
  }
}

/** True when something exists at `path` (a dangling symlink counts). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await host.lstat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** How much of a log's end {@link logTail} reads: plenty for the lines a diagnostic shows. */
const TAIL_WINDOW = 64 * 1024;

/**
 * The last `n` non-empty lines of a log such as a VM's console.log (lossy
 * UTF-8, terminal escape sequences and carriage returns removed), or
 * undefined when it cannot be read.
 */
export async function logTail(path: string, n: number): Promise<string[] | undefined> {
  try {
    const bytes = await host.readFile(path);
    const text = new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.length - TAIL_WINDOW)));
    // deno-lint-ignore no-control-regex
    const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
    return clean.split("\n").filter((l) => l.trim() !== "").slice(-n);
  } catch {
    return undefined;
  }
}

/**
 * Run `fn` holding the lock `lockFile`; waits while another live process holds it.
 *
 * The lock is the file itself, holding its owner's PID, made by an atomic
 * hard link of a finished temp file (never seen half-written). The same
 * protocol works on Deno and Node (which has no flock), so the two builds
 * exclude each other too. A holder killed outright leaves the file behind;
 * a taker that finds its PID gone removes it, but only while holding the
 * lock's break mutex and only if the file is still the one it judged dead:
 * a live holder's file is never removed by anyone but its holder.
 */
export async function withFileLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  // One taker per lock in this process at a time: a lock file naming this PID is then stale.
  const before = takersHere.get(lockFile) ?? Promise.resolve();
  let done = () => {};
  const mine = before.then(() => new Promise<void>((resolve) => (done = resolve)));
  takersHere.set(lockFile, mine);
  await before;
  try {
    await acquireLock(lockFile);
    try {
      return await fn();
    } finally {
      await host.remove(lockFile).catch(() => {});
    }
  } finally {
    done();
    if (takersHere.get(lockFile) === mine) takersHere.delete(lockFile);
  }
}

/** The last taker of each lock in this process, which the next one waits for. */
const takersHere = new Map<string, Promise<void>>();

const LOCK_POLL_MAX_MS = 50;

async function acquireLock(lockFile: string): Promise<void> {
  // Not a TEMP_INFIX name: a lock holder clears those as stale, and this one is a waiter's.
  const tmp = `${lockFile}.want-${host.pid}-${crypto.randomUUID().slice(0, 8)}`;
  await host.writeFile(tmp, encoder.encode(`${host.pid}\n`), { createNew: true, mode: 0o600 });
  try {
    for (let wait = 2;; wait = Math.min(wait * 2, LOCK_POLL_MAX_MS)) {
      try {
        return await host.link(tmp, lockFile);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      await breakDeadLock(lockFile, tmp);
      await sleep(wait);
    }
  } finally {
    await host.remove(tmp).catch(() => {});
  }
}

/** True when the lock file text `text` names no live holder (this process takes one at a time). */
function holderGone(text: string): boolean {
  const pid = Number(text.trim());
  // A lock file without a PID is one an older vmctl left (it locked with flock).
  if (!Number.isInteger(pid) || pid <= 0) return true;
  return pid === host.pid || !host.processExists(pid);
}

/**
 * Remove `lockFile` if its holder is gone, under the break mutex `LOCK.break`
 * (taken, like the lock, by linking `mine`: this waiter's file with its PID).
 */
async function breakDeadLock(lockFile: string, mine: string): Promise<void> {
  const seen = await host.readTextFile(lockFile).catch(() => undefined);
  if (seen === undefined || !holderGone(seen)) return;
  const mutex = `${lockFile}.break`;
  try {
    await host.link(mine, mutex);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    // Another taker is breaking it; a breaker that died holding the mutex leaves it behind.
    const other = await host.readTextFile(mutex).catch(() => undefined);
    if (other !== undefined && holderGone(other)) {
      await host.remove(mutex).catch(() => {});
    }
    return;
  }
  try {
    // Only breakers remove a file whose holder is gone, one at a time: unchanged means still dead.
    if (await host.readTextFile(lockFile).catch(() => undefined) === seen) {
      await host.remove(lockFile).catch(() => {});
    }
  } finally {
    await host.remove(mutex).catch(() => {});
  }
}
