/**
 * Where downloaded bytes go after the raw part file: hashed (sha256 of the
 * bytes as served), and when they are zstd or gzip (decided by the first
 * bytes), decompressed into `<part>.out` while they stream.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { createGunzip, createZstdDecompress } from "node:zlib";
import type { Transform } from "node:stream";
import { Diagnostic } from "../diagnostics.ts";

const CHUNK = 1024 * 1024;

export type Compression = "zstd" | "gzip" | "none";

/** Compression named by the first bytes of a stream. */
export function detectCompression(head: Uint8Array): Compression | "xz" {
  const m = (...b: number[]) => b.every((x, i) => head[i] === x);
  if (m(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (m(0x1f, 0x8b)) return "gzip";
  if (m(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  return "none";
}

/**
 * Where the bytes go after the raw part: straight through (hash only) or
 * through a decompressor into `<part>.out`. The compression is decided by
 * the first bytes seen.
 */
export class Sink {
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

  async end(): Promise<{ file: string; size: number; compression: Compression }> {
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
export async function replayPart(part: string, n: number, sink: Sink): Promise<void> {
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

export function writeAll(f: Deno.FsFile, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) off += f.writeSync(data.subarray(off));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const r = new Uint8Array(a.length + b.length);
  r.set(a);
  r.set(b, a.length);
  return r;
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
