/**
 * Where downloaded bytes go: appended to the part file and hashed (sha256 of
 * the bytes as served, the cache key), and when they are zstd or gzip
 * (decided by the first bytes) decompressed into `<part>.out` while they
 * stream (inflate.ts).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { concatBytes } from "../bytes.ts";
import { Diagnostic } from "../diagnostics.ts";
import { writeAllSync } from "../file_write.ts";
import { CorruptStreamError, type Inflater, OutputWriteError, startInflater } from "./inflate.ts";
import { host } from "../../host/mod.ts";
import type { HostFile } from "../../host/mod.ts";

const CHUNK = 1024 * 1024;

/** The first bytes that tell the compression. */
const HEAD = 6;

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
 * The destination of one download's bytes: the part file, the hash, and a
 * decompressor when the first bytes name one. Until those first bytes are in,
 * the sink keeps them aside for the decompressor.
 */
export class Sink {
  #partPath: string;
  #part: HostFile;
  #hash = createHash("sha256");
  #mode: Compression | null = null;
  #head: Uint8Array = new Uint8Array(0);
  #inflater: Inflater | null = null;
  #size = 0;

  /** `part`: the part file, open for writing at its end. */
  constructor(partPath: string, part: HostFile) {
    this.#partPath = partPath;
    this.#part = part;
  }

  /** New bytes: append them to the part, hash and decompress them. */
  async push(chunk: Uint8Array): Promise<void> {
    try {
      writeAllSync(this.#part, chunk);
    } catch (err) {
      throw this.#writeFailed(
        `cannot write the download: ${errText(err)} (${this.#partPath})`,
        err,
      );
    }
    await this.replay(chunk);
  }

  /** Bytes already in the part (a resumed download's start): hash and decompress them. */
  async replay(chunk: Uint8Array): Promise<void> {
    this.#hash.update(chunk);
    if (this.#mode !== null) return await this.#inflate(chunk);
    this.#head = concatBytes([this.#head, chunk]);
    if (this.#head.length >= HEAD) await this.#decide();
  }

  /** Choose the decompressor from the head, then decompress the head. */
  async #decide(): Promise<void> {
    const c = detectCompression(this.#head);
    if (c === "xz") {
      throw new Diagnostic("vmctl::image::unsupported_compression", "xz images are not supported", {
        hint: 'decompress it first (xz -d) and use `image "PATH"`, or use a .zst/.gz/plain URL',
      });
    }
    this.#mode = c;
    if (c !== "none") {
      this.#inflater = await this.#guard(() => startInflater(c, this.#out));
    }
    const head = this.#head;
    this.#head = new Uint8Array(0);
    await this.#inflate(head);
  }

  get #out(): string {
    return `${this.#partPath}.out`;
  }

  /** Close the decompressor's output, if any (idempotent). */
  dispose(): void {
    this.#inflater?.dispose();
  }

  async #inflate(chunk: Uint8Array): Promise<void> {
    if (!this.#inflater) {
      this.#size += chunk.length;
      return;
    }
    await this.#guard(() => this.#inflater!.push(chunk));
  }

  /** Run a decompressor step, reporting its failures as diagnostics. */
  async #guard<T>(step: () => T | Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof OutputWriteError) {
        throw this.#writeFailed(`cannot write the image: ${err.message} (${this.#out})`, err);
      }
      if (!(err instanceof CorruptStreamError)) throw err;
      throw new Diagnostic(
        "vmctl::image::corrupt_archive",
        `the ${this.#mode} stream is corrupt: ${err.message}`,
        { hint: "the server sent a broken file; check the URL", cause: err },
      );
    }
  }

  #writeFailed(message: string, err: unknown): Diagnostic {
    return new Diagnostic("vmctl::image::write_failed", message, {
      hint: "free space in the data directory and pull again: the download resumes",
      cause: err,
    });
  }

  /**
   * Finish: the result file, its size, and the sha256 of the bytes as served
   * (the cache key).
   */
  async end(): Promise<
    { file: string; size: number; compression: Compression; sourceSha256: string }
  > {
    if (this.#mode === null) await this.#decide();
    if (this.#inflater) this.#size = await this.#guard(() => this.#inflater!.end());
    return {
      file: this.#mode === "none" ? this.#partPath : this.#out,
      size: this.#size,
      compression: this.#mode!,
      sourceSha256: this.#hash.digest("hex"),
    };
  }
}

/** Feed the first `n` bytes already in `part` through the sink (after a resume). */
export async function replayPart(part: string, n: number, sink: Sink): Promise<void> {
  const f = await host.open(part, { read: true });
  try {
    const buf = new Uint8Array(CHUNK);
    let left = n;
    while (left > 0) {
      const r = await f.read(buf.subarray(0, Math.min(CHUNK, left)));
      if (r === null) break;
      await sink.replay(buf.subarray(0, r));
      left -= r;
    }
  } finally {
    f.close();
  }
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
