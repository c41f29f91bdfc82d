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
import { createHash, type Hash } from "node:crypto";
import { createGunzip, createZstdDecompress } from "node:zlib";
import type { Transform } from "node:stream";
import { Diagnostic } from "../diagnostics.ts";
import { createProgress } from "./progress.ts";
import { httpGet, proxyConfigured, type RawResponse } from "./http.ts";

export type Compression = "zstd" | "gzip" | "none";

/** Compression named by the first bytes of a stream. */
export function detectCompression(head: Uint8Array): Compression | "xz" {
  const m = (...b: number[]) => b.every((x, i) => head[i] === x);
  if (m(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (m(0x1f, 0x8b)) return "gzip";
  if (m(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  return "none";
}

export interface DownloadOptions {
  /** Expected sha256 (hex) of the bytes as served. */
  sha256?: string;
  progress?: boolean;
  label?: string;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
}

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

const CHUNK = 1024 * 1024;
const BATCH = 1024 * 1024;

/** Download `url` using `part` as the resumable buffer. Removes the part on a checksum mismatch. */
export async function download(
  url: string,
  part: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const doFetch = opts.fetch ?? fetch;
  const metaFile = `${part}.json`;
  const meta = await readMeta(metaFile, url);
  let have = meta ? await fileSize(part) : 0;
  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (have > 0 && meta) {
    headers.range = `bytes=${have}-`;
    const validator = meta.etag ?? meta.lastModified;
    if (validator) headers["if-range"] = validator;
  }
  let res: RawResponse;
  try {
    // Our own HTTP/1.1 reader is ~1.5x faster than fetch; fetch handles proxies.
    res = opts.fetch || proxyConfigured()
      ? fromFetch(await doFetch(url, { headers }))
      : await httpGet(url, headers);
  } catch (err) {
    throw new Diagnostic("vmctl::image::fetch_failed", `cannot download ${url}: ${errText(err)}`, {
      hint: "check the URL and the network; a partial download is kept and resumed next time",
      cause: err,
    });
  }
  if (res.status === 416 && have > 0) {
    res.close();
    await discardPart(part);
    return await download(url, part, opts); // our part is longer than the file: start over
  }
  if (res.status < 200 || res.status > 299) {
    res.close();
    throw new Diagnostic(
      "vmctl::image::http_error",
      `downloading ${url} failed: HTTP ${res.status} ${res.statusText}`,
      { hint: res.status === 404 ? "the URL does not exist; check it" : "the server refused it" },
    );
  }
  if (res.status !== 206) have = 0; // full body: the server ignored or rejected our range
  const total = expectedTotal(res, have);
  await writeMeta(metaFile, {
    url,
    etag: res.headers.get("etag"),
    lastModified: res.headers.get("last-modified"),
  });
  const raw = await Deno.open(part, { create: true, write: true, mode: 0o600 });
  let sink: Sink | null = null;
  try {
    if (have === 0) await raw.truncate(0);
    await raw.seek(have, Deno.SeekMode.Start);
    sink = new Sink(part);
    const progress = createProgress(opts.label ?? url, {
      enabled: opts.progress ?? false,
      startAt: have,
    });
    let got = have;
    if (have > 0) await replayPart(part, have, sink);
    // The socket is read straight into 1 MiB batches: hashing, writing and decompressing in
    // large pieces is markedly faster. A fresh buffer per batch: the decompressor may hold on
    // to the last one.
    let batch = new Uint8Array(BATCH);
    let fill = 0;
    const flush = async () => {
      if (fill === 0) return;
      const data = batch.subarray(0, fill);
      writeAll(raw, data);
      await sink!.push(data);
      // Plain data is fully consumed (hashed, written) by now: reuse the buffer, which keeps
      // RSS flat; a decompressor may still read it, so it gets a fresh one.
      if (sink!.retainsInput) batch = new Uint8Array(BATCH);
      fill = 0;
    };
    try {
      for (;;) {
        let n: number | null;
        try {
          n = await res.read(batch.subarray(fill));
        } catch (err) {
          await flush(); // keep what arrived: the next pull resumes after it
          throw interrupted(url, got, total, err);
        }
        if (n === null) break;
        fill += n;
        got += n;
        if (fill === BATCH) await flush();
        progress.update(got, total);
      }
      await flush();
    } finally {
      res.close();
    }
    if (total !== null && got !== total) throw interrupted(url, got, total);
    const out = await sink.end();
    progress.finish(got);
    const sourceSha256 = sink.sourceHash.digest("hex");
    if (opts.sha256 && opts.sha256.toLowerCase() !== sourceSha256) {
      raw.close();
      await discardPart(part);
      throw new Diagnostic("vmctl::image::checksum_mismatch", `checksum mismatch for ${url}`, {
        hint: "the download is corrupt or the expected sha256 is wrong; nothing was cached",
        details: [
          `expected sha256 ${opts.sha256.toLowerCase()}`,
          `got      sha256 ${sourceSha256}`,
        ],
      });
    }
    return { ...out, sourceSha256, resumedFrom: have };
  } finally {
    sink?.dispose();
    try {
      raw.close();
    } catch { /* closed above */ }
  }
}

/** Remove a part and its companions (.json, .out). */
export async function discardPart(part: string): Promise<void> {
  for (const p of [part, `${part}.json`, `${part}.out`]) await Deno.remove(p).catch(() => {});
}

function interrupted(url: string, got: number, total: number | null, cause?: unknown): Diagnostic {
  return new Diagnostic(
    "vmctl::image::truncated",
    `the download of ${url} ended early (${got}${total !== null ? ` of ${total}` : ""} bytes)`,
    { hint: "run the same command again: it resumes where this one stopped", cause },
  );
}

/**
 * Where the bytes go after the raw part: straight through (hash only) or
 * through a decompressor into `<part>.out`. The compression is decided by
 * the first bytes seen.
 */
class Sink {
  readonly sourceHash: Hash = createHash("sha256");
  #part: string;
  #mode: Compression | null = null;
  #head: Uint8Array = new Uint8Array(0);
  #out: Deno.FsFile | null = null;
  #z: Transform | null = null;
  #zError: unknown = null;
  #size = 0;

  constructor(part: string) {
    this.#part = part;
  }

  /** True when pushed buffers may still be read after push() returns (a decompressor runs). */
  get retainsInput(): boolean {
    return this.#mode === "zstd" || this.#mode === "gzip";
  }

  async push(chunk: Uint8Array): Promise<void> {
    this.sourceHash.update(chunk);
    if (this.#mode === null) {
      this.#head = concat(this.#head, chunk);
      if (this.#head.length < 6) return;
      await this.#decide();
      chunk = this.#head;
    }
    await this.#feed(chunk);
  }

  async #decide(): Promise<void> {
    const c = detectCompression(this.#head);
    if (c === "xz") {
      throw new Diagnostic("vmctl::image::unsupported_compression", "xz images are not supported", {
        hint: 'decompress it first (xz -d) and use `image "PATH"`, or use a .zst/.gz/plain URL',
      });
    }
    this.#mode = c;
    if (c === "none") return;
    this.#out = await Deno.open(`${this.#part}.out`, {
      create: true,
      write: true,
      truncate: true,
      mode: 0o600,
    });
    this.#z = c === "zstd" ? createZstdDecompress() : createGunzip();
    this.#z.on("data", (d: Uint8Array) => {
      writeAll(this.#out!, d);
      this.#size += d.length;
    });
    this.#z.on("error", (e: unknown) => this.#zError = e);
    if (c === "zstd") globalThis.addEventListener("error", this.#onGlobalError);
  }

  /**
   * Deno 2.9.6's zstd stream throws a corrupt-input error from a nextTick
   * instead of emitting "error" (it would kill the process); catch exactly
   * that error while our decompressor runs and report it as ours.
   */
  #onGlobalError = (e: ErrorEvent) => {
    const msg = e.error instanceof Error ? e.error.message : "";
    if (!msg.startsWith("Zstd decompress error")) return;
    e.preventDefault();
    this.#zError = e.error;
  };

  /** Wait for `event`, an "error" event, or an error caught by the global hook. */
  #wait(event: string): Promise<void> {
    const z = this.#z!;
    return new Promise((resolve) => {
      const done = () => {
        clearInterval(timer);
        z.off(event, done);
        z.off("error", done);
        resolve();
      };
      const timer = setInterval(() => this.#zError && done(), 20);
      z.once(event, done);
      z.once("error", done);
    });
  }

  /** Release the global hook and close the output (idempotent). */
  dispose(): void {
    globalThis.removeEventListener("error", this.#onGlobalError);
    try {
      this.#out?.close();
    } catch { /* closed */ }
    this.#z?.destroy();
  }

  async #feed(chunk: Uint8Array): Promise<void> {
    if (this.#mode === "none") {
      this.#size += chunk.length;
      return;
    }
    this.#checkZ();
    if (!this.#z!.write(chunk)) await this.#wait("drain");
    this.#checkZ();
  }

  #checkZ(): void {
    if (this.#zError) {
      throw new Diagnostic(
        "vmctl::image::corrupt_archive",
        `the ${this.#mode} stream is corrupt: ${errText(this.#zError)}`,
        { hint: "the server sent a broken file; check the URL" },
      );
    }
  }

  async end(): Promise<Omit<DownloadResult, "sourceSha256" | "resumedFrom">> {
    if (this.#mode === null) {
      await this.#decide();
      await this.#feed(this.#head);
    }
    if (this.#z) {
      const ended = this.#wait("end");
      this.#z.end();
      await ended;
      this.#checkZ();
    }
    return {
      file: this.#mode === "none" ? this.#part : `${this.#part}.out`,
      size: this.#size,
      compression: this.#mode!,
    };
  }
}

/** Feed the first `n` bytes already in `part` through the sink (after a resume). */
async function replayPart(part: string, n: number, sink: Sink): Promise<void> {
  const f = await Deno.open(part, { read: true });
  try {
    const buf = new Uint8Array(CHUNK);
    let left = n;
    while (left > 0) {
      const r = await f.read(buf.subarray(0, Math.min(CHUNK, left)));
      if (r === null) break;
      await sink.push(buf.slice(0, r));
      left -= r;
    }
  } finally {
    f.close();
  }
}

/** Adapt a fetch Response to the read-into-buffer interface. */
function fromFetch(r: Response): RawResponse {
  const reader = r.body?.getReader();
  let left: Uint8Array = new Uint8Array(0);
  return {
    status: r.status,
    statusText: r.statusText,
    headers: r.headers,
    async read(buf) {
      if (!reader) return null;
      if (left.length === 0) {
        const c = await reader.read();
        if (c.done) return null;
        left = c.value;
      }
      const n = Math.min(buf.length, left.length);
      buf.set(left.subarray(0, n));
      left = left.subarray(n);
      return n;
    },
    close() {
      reader?.cancel().catch(() => {});
    },
  };
}

function expectedTotal(res: RawResponse, have: number): number | null {
  const range = res.headers.get("content-range")?.match(/\/(\d+)\s*$/);
  if (res.status === 206 && range) return Number(range[1]);
  const len = res.headers.get("content-length");
  return len === null ? null : Number(len) + have;
}

function writeAll(f: Deno.FsFile, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += f.writeSync(data.subarray(off));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}

async function fileSize(p: string): Promise<number> {
  try {
    return (await Deno.stat(p)).size;
  } catch {
    return 0;
  }
}

async function readMeta(file: string, url: string): Promise<PartMeta | null> {
  try {
    const m = JSON.parse(await Deno.readTextFile(file)) as PartMeta;
    return m.url === url ? m : null;
  } catch {
    return null;
  }
}

async function writeMeta(file: string, meta: PartMeta): Promise<void> {
  await Deno.writeTextFile(file, JSON.stringify(meta), { mode: 0o600 });
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
