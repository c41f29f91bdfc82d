/**
 * Where downloaded bytes go: appended to the part file and hashed (sha256 of
 * the bytes as served; part_writer.ts), and when they are zstd or gzip
 * (decided by the first bytes) decompressed into `<part>.out` while they
 * stream, on a worker thread (inflate.ts).
 *
 * @module
 */
import { concatBytes } from "../bytes.ts";
import { Diagnostic } from "../diagnostics.ts";
import { type Inflater, startInflater } from "./inflate.ts";
import {
  inlinePartWriter,
  PartWriteError,
  type PartWriter,
  wantsWriterThread,
  workerPartWriter,
  writeToPart,
} from "./part_writer.ts";

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
 * The destination of one download's bytes: the part file (through a
 * {@link PartWriter}), the hash, and a decompressor when the first bytes name
 * one. Until those first bytes are in, the sink writes inline and keeps them.
 */
export class Sink {
  #partPath: string;
  #part: Deno.FsFile;
  #expectedBytes: number | null;
  #mode: Compression | null = null;
  #head: Uint8Array = new Uint8Array(0);
  #writer: PartWriter | null = null;
  #threaded = false;
  #inflater: Inflater | null = null;
  #size = 0;

  /**
   * `part`: the part file, open for writing at its end; `expectedBytes`: the
   * length of the whole stream, when the server said.
   */
  constructor(partPath: string, part: Deno.FsFile, expectedBytes: number | null) {
    this.#partPath = partPath;
    this.#part = part;
    this.#expectedBytes = expectedBytes;
  }

  /** New bytes: append them to the part, hash and decompress them. */
  async push(chunk: Uint8Array): Promise<void> {
    if (this.#mode !== null) {
      await this.#guard(() => this.#writer!.append(chunk));
      await this.#inflate(chunk);
      return;
    }
    await this.#guard(() => writeToPart(this.#part, chunk));
    await this.#collectHead(chunk); // hashed with the head, once the writer is chosen
  }

  /** Bytes already in the part (a resumed download's start): hash and decompress them. */
  async replay(chunk: Uint8Array): Promise<void> {
    if (this.#mode !== null) {
      await this.#guard(() => this.#writer!.hashOnly(chunk));
      await this.#inflate(chunk);
      return;
    }
    await this.#collectHead(chunk);
  }

  /** Wait until every byte pushed is in the part file (before it is kept for a resume). */
  async drain(): Promise<void> {
    await this.#guard(() => this.#writer?.drain());
  }

  async #collectHead(chunk: Uint8Array): Promise<void> {
    this.#head = concatBytes([this.#head, chunk]);
    if (this.#head.length >= HEAD) await this.#decide();
  }

  /** Choose the decompressor and the writer from the head, then hash and decompress the head. */
  async #decide(): Promise<void> {
    const c = detectCompression(this.#head);
    if (c === "xz") {
      throw new Diagnostic("vmctl::image::unsupported_compression", "xz images are not supported", {
        hint: 'decompress it first (xz -d) and use `image "PATH"`, or use a .zst/.gz/plain URL',
      });
    }
    this.#mode = c;
    if (c !== "none") this.#inflater = startInflater(c, `${this.#partPath}.out`);
    this.#threaded = c === "none" && wantsWriterThread(this.#expectedBytes);
    this.#writer = this.#threaded
      ? workerPartWriter(this.#partPath)
      : inlinePartWriter(this.#part, c !== "none");
    const head = this.#head;
    this.#head = new Uint8Array(0);
    await this.#guard(() => this.#writer!.hashOnly(head));
    await this.#inflate(head);
  }

  /** True when the part is written and hashed on a second thread (a large plain download). */
  get threaded(): boolean {
    return this.#threaded;
  }

  /** Stop the decompressor and the writer thread, if any (idempotent). */
  dispose(): void {
    this.#inflater?.dispose();
    this.#writer?.dispose();
  }

  async #inflate(chunk: Uint8Array): Promise<void> {
    if (!this.#inflater) {
      this.#size += chunk.length;
      return;
    }
    await this.#inflater.push(chunk);
    this.#checkInflater();
  }

  /** Run `step`, reporting a failed write of the part as a diagnostic. */
  async #guard<T>(step: () => T | Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (!(err instanceof PartWriteError)) throw err;
      throw new Diagnostic("vmctl::image::write_failed", `${err.message} (${this.#partPath})`, {
        hint: "free space in the data directory and pull again: the download resumes",
        cause: err,
      });
    }
  }

  #checkInflater(): void {
    const inflater = this.#inflater;
    if (!inflater?.error) return;
    if (inflater.writeFailed) {
      throw new Diagnostic(
        "vmctl::image::write_failed",
        `cannot write the image: ${inflater.error} (${this.#partPath}.out)`,
        { hint: "free space in the data directory and pull again: the download resumes" },
      );
    }
    throw new Diagnostic(
      "vmctl::image::corrupt_archive",
      `the ${this.#mode} stream is corrupt: ${inflater.error}`,
      { hint: "the server sent a broken file; check the URL" },
    );
  }

  /**
   * Finish: the result file, its size, and the sha256 of the bytes as served
   * (the cache key).
   */
  async end(): Promise<
    { file: string; size: number; compression: Compression; sourceSha256: string }
  > {
    if (this.#mode === null) await this.#decide();
    const sourceSha256 = await this.#guard(() => this.#writer!.finish());
    if (this.#inflater) {
      this.#size = await this.#inflater.end();
      this.#checkInflater();
    }
    return {
      file: this.#mode === "none" ? this.#partPath : `${this.#partPath}.out`,
      size: this.#size,
      compression: this.#mode!,
      sourceSha256,
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
