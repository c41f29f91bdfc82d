/**
 * Resumable, verified image downloads.
 *
 * The bytes as served go to `<part>` (appended; a `<part>.json` keeps the
 * validators for `If-Range`), so an interrupted pull resumes with an HTTP
 * Range request. A zstd or gzip stream (detected by magic bytes, not the URL)
 * is decompressed while it streams into `<part>.out`; after a resume the
 * bytes already on disk are fed through the decompressor first. Nothing is
 * handed out until the whole body arrived, its length matches and the
 * optional sha256 (of the bytes as served) is right; then the caller renames
 * the result into the cache.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { refuseDownloadOffline } from "../offline.ts";
import { createProgress } from "./progress.ts";
import { type Compression, errText, replayPart, Sink } from "./sink.ts";
import { host, isNotFound } from "../../host/mod.ts";
import type { HostFile } from "../../host/mod.ts";

export { type Compression, detectCompression } from "./sink.ts";

export interface DownloadOptions {
  /** Expected sha256 (hex) of the bytes as served. */
  sha256?: string;
  progress?: boolean;
  label?: string;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
  /** Give up on a server silent for this long (default 60 s); the part is kept. */
  idleTimeoutMs?: number;
  /** Stops the download (Ctrl+C); the bytes so far are kept for a resume. */
  signal?: AbortSignal;
}

/** A server that sends nothing for this long is given up on (the part is kept for a resume). */
export const IDLE_TIMEOUT_MS = 60_000;

export interface DownloadResult {
  /** The finished file (decompressed if needed): rename it into the cache. */
  file: string;
  /** sha256 of the bytes as served (compressed or not): the cache key of the result. */
  sourceSha256: string;
  size: number;
  compression: Compression;
  /** Bytes that came from an earlier, interrupted pull. */
  resumedFrom: number;
}

interface PartMeta {
  url: string;
  etag?: string | null;
  lastModified?: string | null;
}

/** Sink failures after which the part is deleted rather than kept for a resume. */
const UNUSABLE = new Set([
  "vmctl::image::corrupt_archive",
  "vmctl::image::unsupported_compression",
]);

/** Download `url` using `part` as the resumable buffer. Removes the part on a checksum mismatch. */
export async function download(
  url: string,
  part: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  refuseDownloadOffline(url, opts.sha256);
  const doFetch = opts.fetch ?? fetch;
  const metaFile = `${part}.json`;
  const meta = await readMeta(metaFile, url);
  const have = meta ? await fileSize(part) : 0;
  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (have > 0 && meta) {
    headers.range = `bytes=${have}-`;
    const validator = meta.etag ?? meta.lastModified;
    if (validator) headers["if-range"] = validator;
  }
  const idle = idleTimer(opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS);
  const signal = opts.signal ? AbortSignal.any([opts.signal, idle.signal]) : idle.signal;
  let res: Response;
  try {
    res = await doFetch(url, { headers, signal });
  } catch (err) {
    idle.stop();
    throw new Diagnostic("vmctl::image::fetch_failed", `cannot download ${url}: ${errText(err)}`, {
      hint: "check the URL and the network; a partial download is kept and resumed next time",
      cause: err,
    });
  }
  idle.stop(); // restarted around each read of the body: replaying a long part takes its time
  try {
    return await receive(url, part, res, have, idle, opts);
  } finally {
    idle.stop();
  }
}

/** Write the body of `res` (an answer to a request from byte `have` on) through a sink. */
async function receive(
  url: string,
  part: string,
  res: Response,
  have: number,
  idle: IdleTimer,
  opts: DownloadOptions,
): Promise<DownloadResult> {
  const metaFile = `${part}.json`;
  if (res.status === 416 && have > 0) {
    await res.body?.cancel();
    await discardPart(part);
    return await download(url, part, opts); // our part is longer than the file: start over
  }
  if (res.status < 200 || res.status > 299) {
    await res.body?.cancel();
    throw httpError(url, res);
  }
  if (res.status !== 206) have = 0; // full body: the server ignored or rejected our range
  const total = expectedTotal(res, have);
  await writeMeta(metaFile, {
    url,
    etag: res.headers.get("etag"),
    lastModified: res.headers.get("last-modified"),
  });
  const raw = await openPart(part, have);
  let sink: Sink | null = null;
  try {
    sink = new Sink(part, raw);
    const progress = createProgress(opts.label ?? url, {
      enabled: opts.progress ?? false,
      startAt: have,
    });
    if (have > 0) await replayPart(part, have, sink);
    const got = await pushBody(
      res,
      sink,
      have,
      idle,
      (n) => progress.update(n, total),
      (n, err) => interrupted(url, n, total, err),
    );
    if (total !== null && got !== total) throw interrupted(url, got, total);
    const { sourceSha256, ...out } = await sink.end();
    progress.finish(got);
    if (opts.sha256 && opts.sha256.toLowerCase() !== sourceSha256) {
      raw.close();
      await discardPart(part);
      throw checksumMismatch(url, opts.sha256.toLowerCase(), sourceSha256);
    }
    return { ...out, sourceSha256, resumedFrom: have };
  } catch (err) {
    // Bytes that cannot become an image (a corrupt or cut archive, xz) are not worth resuming.
    if (err instanceof Diagnostic && UNUSABLE.has(err.code)) {
      sink?.dispose();
      raw.close();
      await discardPart(part);
    }
    throw err;
  } finally {
    sink?.dispose();
    try {
      raw.close();
    } catch { /* closed above */ }
  }
}

/** The part file, open for writing at byte `have`. */
async function openPart(part: string, have: number): Promise<HostFile> {
  // A fresh start replaces the part rather than truncating it: on ext4 a file truncated to zero
  // is flushed to disk by the kernel when it is closed (auto_da_alloc), so the pull would wait
  // for the writeback of the whole image; a new file's pages are written back later, in the
  // background, as for any other program's download.
  if (have === 0) await removeIfPresent(part);
  const raw = await host.open(part, { create: true, write: true, mode: 0o600 });
  try {
    await raw.seek(have);
    return raw;
  } catch (err) {
    raw.close();
    throw err;
  }
}

function httpError(url: string, res: Response): Diagnostic {
  return new Diagnostic(
    "vmctl::image::http_error",
    `downloading ${url} failed: HTTP ${res.status} ${res.statusText}`,
    { hint: res.status === 404 ? "the URL does not exist; check it" : "the server refused it" },
  );
}

/** The bytes of `what` (a URL or a file) do not have the expected sha256. */
export function checksumMismatch(
  what: string,
  expected: string,
  got: string,
  hint = "the download is corrupt or the expected sha256 is wrong; nothing was cached",
): Diagnostic {
  return new Diagnostic("vmctl::image::checksum_mismatch", `checksum mismatch for ${what}`, {
    hint,
    details: [`expected sha256 ${expected}`, `got      sha256 ${got}`],
  });
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await host.remove(path);
  } catch (err) {
    if (!(isNotFound(err))) throw err;
  }
}

/** Remove a part and its companions (.json, .out). */
export async function discardPart(part: string): Promise<void> {
  for (const p of [part, `${part}.json`, `${part}.out`]) await host.remove(p).catch(() => {});
}

function interrupted(url: string, got: number, total: number | null, cause?: unknown): Diagnostic {
  return new Diagnostic(
    "vmctl::image::truncated",
    `the download of ${url} ended early (${got}${total !== null ? ` of ${total}` : ""} bytes)`,
    { hint: "run the same command again: it resumes where this one stopped", cause },
  );
}

/** Bytes handed to the sink at a time: fewer, larger writes and hash updates than fetch's chunks. */
const BATCH = 1024 * 1024;

/**
 * Push the body of `res` through `sink` in batches; returns the byte count (from `have` on). A
 * body that fails mid-way is `cut(bytes so far, cause)`: what arrived is in the part for a resume.
 */
async function pushBody(
  res: Response,
  sink: Sink,
  have: number,
  idle: IdleTimer,
  onProgress: (got: number) => void,
  cut: (got: number, cause: unknown) => Diagnostic,
): Promise<number> {
  if (!res.body) return have;
  const reader = bodyReader(res.body);
  let into = new Uint8Array(BATCH); // what a read fills (handed back with the bytes)
  const batch = new Uint8Array(BATCH);
  let fill = 0;
  let got = have;
  const flush = async () => {
    await sink.push(batch.subarray(0, fill));
    fill = 0;
  };
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array<ArrayBuffer>>;
      idle.restart();
      try {
        chunk = await reader.read(into);
      } catch (err) {
        await flush();
        throw cut(got, err);
      } finally {
        idle.stop();
      }
      if (chunk.done) break;
      into = new Uint8Array(chunk.value.buffer);
      for (let v = chunk.value; v.length > 0;) {
        const n = Math.min(v.length, BATCH - fill);
        batch.set(v.subarray(0, n), fill);
        fill += n;
        v = v.subarray(n);
        if (fill === BATCH) await flush();
      }
      got += chunk.value.length;
      onProgress(got);
    }
    await flush();
    return got;
  } finally {
    reader.releaseLock();
    await res.body.cancel().catch(() => {});
  }
}

/** Reads of a response body: each fills the buffer given, or hands out the next chunk. */
interface BodyReader {
  read(into: Uint8Array<ArrayBuffer>): Promise<ReadableStreamReadResult<Uint8Array<ArrayBuffer>>>;
  releaseLock(): void;
}

/**
 * A reader of `body` that fills the caller's buffer when the body is a byte stream (fetch's is):
 * one read takes all that arrived, where the default reader hands out fetch's small chunks one
 * at a time. A body built in JavaScript gets the default reader.
 */
function bodyReader(body: ReadableStream<Uint8Array<ArrayBuffer>>): BodyReader {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    const plain = body.getReader();
    return { read: () => plain.read(), releaseLock: () => plain.releaseLock() };
  }
}

/** An AbortSignal that fires `ms` after the last `restart` unless stopped. */
interface IdleTimer {
  signal: AbortSignal;
  restart(): void;
  stop(): void;
}

/**
 * An {@link IdleTimer}, running: a server that stops sending while we wait for it fails the pull
 * instead of hanging it.
 */
function idleTimer(ms: number): IdleTimer {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () =>
        ctl.abort(new DOMException(`no answer from the server for ${ms / 1000} s`, "TimeoutError")),
      ms,
    );
  };
  restart();
  return { signal: ctl.signal, restart, stop: () => clearTimeout(timer) };
}

function expectedTotal(res: Response, have: number): number | null {
  const range = res.headers.get("content-range")?.match(/\/(\d+)\s*$/);
  if (res.status === 206 && range) return Number(range[1]);
  const len = res.headers.get("content-length");
  return len === null ? null : Number(len) + have;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await host.stat(p)).size;
  } catch {
    return 0;
  }
}

async function readMeta(file: string, url: string): Promise<PartMeta | null> {
  try {
    const m = JSON.parse(await host.readTextFile(file)) as PartMeta;
    return m.url === url ? m : null;
  } catch {
    return null;
  }
}

async function writeMeta(file: string, meta: PartMeta): Promise<void> {
  await host.writeTextFile(file, JSON.stringify(meta), { mode: 0o600 });
}
