/**
 * `vmctl image import FILE [--url URL]`: a local image file into the cache,
 * exactly as if it had been downloaded from URL (same store file, index entry
 * and name), so a VMFile's `image-url` resolves without the network.
 *
 * The checksum and the cache key are the sha256 of the file as given (the
 * compressed bytes for a .zst/.gz/.xz), as for a download. zstd and gzip are
 * decompressed by the downloads' decompressor (sink.ts); xz by the `xz`
 * program. The work happens in the URL's part files under `partial/`, which
 * a failure or an interrupt removes; only a checked image is renamed into the
 * store.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { resolve } from "../lib/posix_path.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import { writeAllSync } from "../lib/file_write.ts";
import { describeFileProblem, fileProblem, withFileLock } from "../lib/files.ts";
import type { DataPaths } from "../lib/paths.ts";
import { type Plan, plan, type Step } from "../lib/plan.ts";
import { execStreaming } from "./exec.ts";
import { apply, type ApplyOptions, storeStep, taskStep } from "./apply.ts";
import {
  type CacheLayout,
  cacheLayout,
  defaultImageName,
  ensureCache,
  type ImageEntry,
  partPath,
  type StoredImage,
  storeImage,
  unstoreImage,
  validateImageName,
} from "../lib/image/cache.ts";
import { checksumMismatch, discardPart } from "../lib/image/download.ts";
import { assertSelfContained } from "../lib/image/qcow2.ts";
import { checkUrl, wantedSha256 } from "../lib/image/resolve.ts";
import { detectCompression, errText, Sink } from "../lib/image/sink.ts";
import { host } from "../host/mod.ts";

export interface ImportOptions {
  /** The URL the image stands for (default: the file's own file:// URL). */
  url?: string;
  /** Cache name (default: the URL's file name without .zst/.zstd/.gz/.xz). */
  name?: string;
  /** Expected sha256 of the file as given. */
  sha256?: string;
}

/** An import, planned: {@link runImport} applies it; `--dry-run` prints `plan`. */
export interface ImportPlan {
  plan: Plan;
  cache: CacheLayout;
  /** The per-URL lock a pull of the same URL takes too. */
  lock: string;
  /** After the plan ran: what was stored. */
  stored(): StoredImage;
}

/** What the first bytes of the file say it is. */
type Format = "zstd" | "gzip" | "xz" | "none";

/** Bytes read from the file at a time. */
const CHUNK = 1024 * 1024;

/** Plan the import of `file`; refuses bad input (missing file, bad URL, name or sha256) now. */
export async function importPlan(
  file: string,
  paths: DataPaths,
  o: ImportOptions = {},
): Promise<ImportPlan> {
  const src = resolve(file);
  const problem = fileProblem(src);
  if (problem) {
    throw new Diagnostic("vmctl::image::not_found", describeFileProblem(problem, "image", src), {
      hint: "give the path of the image file copied to this host",
    });
  }
  if (o.url !== undefined) checkUrl(o.url);
  const url = o.url ?? pathToFileURL(src).href;
  const want = wantedSha256(o.sha256);
  const name = o.name !== undefined ? validateImageName(o.name) : defaultImageName(url);
  const format = await readFormat(src);
  const c = cacheLayout(paths);
  const part = partPath(c, url);
  let staged: Staged | undefined;
  let stored: StoredImage | undefined;
  const steps: Step[] = [
    taskStep(
      format === "none" ? "copy the image into the cache" : `decompress the ${format} image`,
      [
        `${src} (${format === "none" ? "not compressed" : format}) -> ${part}`,
        want ? `its sha256 must be ${want}` : "its sha256 becomes the cache key",
      ].join("\n"),
      async (interrupted) => {
        await ensureCache(c);
        staged = await stage(src, format, part, interrupted);
        if (want && staged.sha256 !== want) {
          throw checksumMismatch(src, want, staged.sha256, IMPORT_MISMATCH_HINT);
        }
        await assertSelfContained(staged.file);
      },
      {
        action: { kind: "remove", path: `${part} (and its .out)` },
        afterFailure: true,
        run: () => discardPart(part),
      },
    ),
    storeStep(
      `store the image as ${name}`,
      c.indexFile,
      `${name}: ${url} -> store/<sha256>.img (replacing an entry of that URL or name)`,
      async () => {
        stored = await storeImage(c, staged!.file, entry(name, url, format, staged!));
        await discardPart(part);
      },
      {
        action: { kind: "store", file: c.indexFile, change: `put back what ${name} replaced` },
        run: () => unstoreImage(c, stored!),
      },
    ),
  ];
  return {
    plan: plan(`import ${src} as ${url}`, steps),
    cache: c,
    lock: `${part}.lock`,
    stored: () => stored!,
  };
}

/** Apply `p` holding the URL's lock (one import or pull of a URL at a time); what was stored. */
export async function runImport(p: ImportPlan, opts: ApplyOptions = {}): Promise<StoredImage> {
  await ensureCache(p.cache);
  await withFileLock(p.lock, () => apply(p.plan, opts));
  return p.stored();
}

function entry(name: string, url: string, format: Format, s: Staged): ImageEntry {
  return {
    name,
    url,
    sha256: s.sha256,
    size: s.size,
    compression: format,
    pulled_at: new Date().toISOString(),
  };
}

/** The image, decompressed in the part files, and the sha256 of the file as given. */
interface Staged {
  file: string;
  size: number;
  sha256: string;
}

async function readFormat(src: string): Promise<Format> {
  const head = new Uint8Array(6);
  const f = await host.open(src, { read: true });
  try {
    let got = 0;
    for (let n: number | null = 0; n !== null && got < head.length; got += n ?? 0) {
      n = await f.read(head.subarray(got));
    }
    return detectCompression(head.subarray(0, got));
  } finally {
    f.close();
  }
}

function stage(src: string, format: Format, part: string, interrupted: AbortSignal) {
  return format === "xz"
    ? stageXz(src, part, interrupted)
    : stageWithSink(src, format, part, interrupted);
}

/**
 * Through the downloads' sink: a plain file is copied into the part; a zstd or gzip one is
 * only read (hashed and decompressed into `<part>.out`), never copied.
 */
async function stageWithSink(
  src: string,
  format: Format,
  part: string,
  interrupted: AbortSignal,
): Promise<Staged> {
  await discardPart(part);
  const raw = await host.open(part, { createNew: true, write: true, mode: 0o600 });
  const sink = new Sink(part, raw);
  try {
    await readChunks(
      src,
      interrupted,
      (chunk) => format === "none" ? sink.push(chunk) : sink.replay(chunk),
    );
    const done = await sink.end();
    return { file: done.file, size: done.size, sha256: done.sourceSha256 };
  } catch (err) {
    throw asImportError(err, src);
  } finally {
    sink.dispose();
    raw.close();
  }
}

/** xz: the `xz` program decompresses into `<part>.out` while the file is hashed here. */
async function stageXz(src: string, part: string, interrupted: AbortSignal): Promise<Staged> {
  await discardPart(part);
  const outPath = `${part}.out`;
  const out = await host.open(outPath, { createNew: true, write: true, mode: 0o600 });
  let size = 0;
  let writeError: unknown;
  try {
    const hash = createHash("sha256");
    const [r] = await Promise.all([
      execStreaming(["xz", "--decompress", "--stdout", "--", src], {
        // Drained, not written, once stopped: xz must be able to finish writing to its pipe.
        onStdout: (chunk) => {
          if (interrupted.aborted || writeError) return;
          try {
            writeAllSync(out, chunk);
            size += chunk.length;
          } catch (err) {
            writeError = err;
          }
        },
      }),
      readChunks(src, interrupted, (chunk) => void hash.update(chunk)),
    ]);
    interrupted.throwIfAborted();
    if (writeError) throw writeFailed(outPath, writeError);
    if (r.code !== 0) {
      throw new Diagnostic("vmctl::image::corrupt_archive", `the xz file ${src} is corrupt`, {
        hint: "copy the file again (check it with `xz -t`)",
        details: r.stderrTail.trim().split("\n").slice(-5),
      });
    }
    return { file: outPath, size, sha256: hash.digest("hex") };
  } finally {
    out.close();
  }
}

/** Read `src` chunk by chunk into `take`; stops with the interrupt's reason when it comes. */
async function readChunks(
  src: string,
  interrupted: AbortSignal,
  take: (chunk: Uint8Array) => void | Promise<void>,
): Promise<void> {
  const f = await host.open(src, { read: true });
  try {
    const buf = new Uint8Array(CHUNK);
    for (;;) {
      interrupted.throwIfAborted();
      const n = await f.read(buf);
      if (n === null) return;
      await take(buf.subarray(0, n));
    }
  } finally {
    f.close();
  }
}

/** The sink's diagnostics speak of downloads; these speak of the file being imported. */
function asImportError(err: unknown, src: string): unknown {
  if (!(err instanceof Diagnostic)) return err;
  if (err.code === "vmctl::image::corrupt_archive") {
    return new Diagnostic(err.code, `${src}: ${err.message}`, {
      hint: "the file is damaged or cut short; copy it again",
      cause: err,
    });
  }
  if (err.code === "vmctl::image::write_failed") {
    return new Diagnostic(err.code, err.message, {
      hint: "free space in the data directory and import again",
      cause: err,
    });
  }
  return err;
}

function writeFailed(path: string, err: unknown): Diagnostic {
  return new Diagnostic("vmctl::image::write_failed", `cannot write the image: ${errText(err)}`, {
    hint: "free space in the data directory and import again",
    details: [path],
    cause: err,
  });
}

const IMPORT_MISMATCH_HINT =
  "the file is not the one you meant, or it was damaged in the copy; nothing was cached";
