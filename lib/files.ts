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

const encoder = new TextEncoder();

/** What stands between a writer's temp file name and its target (`vms.json.tmp-…`). */
export const TEMP_INFIX = ".tmp-";

/** A fresh temp name next to `path`, for a file that is then renamed onto it. */
export function tempPathFor(path: string): string {
  return `${path}${TEMP_INFIX}${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
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
  fill: (file: Deno.FsFile) => void | Promise<void>,
  o: AtomicWriteOptions = {},
): Promise<void> {
  const fail = o.failure ?? ((err: unknown) => writeError(path, err));
  const sync = o.sync ?? true;
  const tmp = tempPathFor(path);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true, mode: o.mode ?? 0o600 });
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
    await Deno.remove(tmp).catch(() => {});
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
  await Deno.rename(from, path);
  if (o.sync ?? true) await syncDir(dirname(path));
}

async function syncDir(dir: string): Promise<void> {
  try {
    using d = await Deno.open(dir, { read: true });
    await d.sync();
  } catch {
    // Not every platform can fsync a directory; the rename itself is still atomic.
  }
}

function writeError(path: string, err: unknown): unknown {
  if (err instanceof Deno.errors.NotFound) {
    return new Diagnostic(
      "vmctl::fs::no_directory",
      `cannot write ${path}: its directory does not exist`,
      { hint: "create the directory first, or choose another path", cause: err },
    );
  }
  if (err instanceof Deno.errors.PermissionDenied && !/--allow/.test(String(err))) {
    return new Diagnostic(
      "vmctl::fs::permission_denied",
      `cannot write ${path}: permission denied`,
      { hint: "choose a directory you can write to", cause: err },
    );
  }
  return err;
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
    const st = Deno.statSync(path);
    if (want === "dir") return st.isDirectory ? undefined : "not_a_directory";
    return st.isFile ? undefined : "not_a_file";
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return "missing";
    }
    if (err instanceof Deno.errors.PermissionDenied) return "denied";
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
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
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
    const bytes = await Deno.readFile(path);
    const text = new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.length - TAIL_WINDOW)));
    // deno-lint-ignore no-control-regex
    const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
    return clean.split("\n").filter((l) => l.trim() !== "").slice(-n);
  } catch {
    return undefined;
  }
}
