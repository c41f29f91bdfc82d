/**
 * Where downloaded bytes go after the raw part file: hashed (sha256 of the
 * bytes as served), and when they are zstd or gzip (decided by the first
 * bytes), decompressed into `<part>.out` while they stream, on a worker
 * thread (inflate.ts).
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { concatBytes } from "../bytes.ts";
import { Diagnostic } from "../diagnostics.ts";
import { type Inflater, startInflater } from "./inflate.ts";

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
  #inflater: Inflater | null = null;
  #size = 0;

  constructor(part: string) {
    this.#part = part;
  }

  /** True once the stream is known to be compressed: a second thread then writes the output. */
  get inflating(): boolean {
    return this.#inflater !== null;
  }

  /** Hash `chunk` and pass it on; the sink never holds on to it after returning. */
  async push(chunk: Uint8Array): Promise<void> {
    this.sourceHash.update(chunk);
    if (this.#mode === null) {
      this.#head = concatBytes([this.#head, chunk]);
      if (this.#head.length < 6) return;
      this.#decide();
      chunk = this.#head;
    }
    await this.#feed(chunk);
  }

  #decide(): void {
    const c = detectCompression(this.#head);
    if (c === "xz") {
      throw new Diagnostic("vmctl::image::unsupported_compression", "xz images are not supported", {
        hint: 'decompress it first (xz -d) and use `image "PATH"`, or use a .zst/.gz/plain URL',
      });
    }
    this.#mode = c;
    if (c !== "none") this.#inflater = startInflater(c, `${this.#part}.out`);
  }

  /** Stop the decompressor, if any (idempotent). */
  dispose(): void {
    this.#inflater?.dispose();
  }

  async #feed(chunk: Uint8Array): Promise<void> {
    if (!this.#inflater) {
      this.#size += chunk.length;
      return;
    }
    await this.#inflater.push(chunk);
    this.#checkInflater();
  }

  #checkInflater(): void {
    const err = this.#inflater?.error;
    if (err) {
      throw new Diagnostic(
        "vmctl::image::corrupt_archive",
        `the ${this.#mode} stream is corrupt: ${err}`,
        { hint: "the server sent a broken file; check the URL" },
      );
    }
  }

  async end(): Promise<{ file: string; size: number; compression: Compression }> {
    if (this.#mode === null) {
      this.#decide();
      await this.#feed(this.#head);
    }
    if (this.#inflater) {
      this.#size = await this.#inflater.end();
      this.#checkInflater();
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
      await sink.push(buf.subarray(0, r));
      left -= r;
    }
  } finally {
    f.close();
  }
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
