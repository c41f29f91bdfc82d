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

/** Options for {@link writeAtomic}. */
export interface AtomicWriteOptions {
  /** Mode of the new file, applied at creation (default 0600: private unless asked). */
  mode?: number;
}

/**
 * Replace `path` with `data` atomically: a uniquely named temp file next to it
 * (created exclusively, with its final mode, so it is never readable by
 * others), fsync, rename, then fsync of the directory. The temp file is
 * removed if anything fails. A missing directory or a refused write is a
 * diagnostic naming `path`.
 */
export async function writeAtomic(
  path: string,
  data: string | Uint8Array,
  o: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = `${path}${TEMP_INFIX}${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  try {
    using f = await Deno.open(tmp, { write: true, createNew: true, mode: o.mode ?? 0o600 });
    let done = 0;
    while (done < bytes.length) done += await f.write(bytes.subarray(done));
    await f.sync();
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw writeError(path, err);
  }
  await syncDir(dirname(path));
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
export type FileProblem = "missing" | "not_a_file" | "denied";

/**
 * Whether `path` names a regular file (symlinks followed): undefined when it
 * does, else what is wrong. A refused permission of Deno itself (NotCapable)
 * is thrown, for the CLI to name the flag to add.
 */
export function fileProblem(path: string): FileProblem | undefined {
  try {
    return Deno.statSync(path).isFile ? undefined : "not_a_file";
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
