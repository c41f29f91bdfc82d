/**
 * Where the bytes as served go: appended to the download's part file and
 * hashed (sha256, the cache key), on the calling thread or on a Worker.
 *
 * The hash is the largest CPU cost of a plain download (0.67 s per GiB at
 * SHA-NI speed; reading the socket costs about as much again), so a large
 * plain download hands the writing and the hashing to a second thread and
 * keeps the main thread on the socket: with a server that costs this machine
 * no CPU (a remote one; the bench's sendfile server) a 1 GiB pull took
 * 1.1-1.2 s instead of 1.35-1.45 s. The price is CPU: ~0.4 CPU-seconds more
 * per GiB, because a main thread that no longer stops to hash reads the
 * socket in ~120 KiB pieces instead of 1 MiB. So when the cores are busy with
 * other work (the bench's second server, streaming through Deno.serve, takes
 * most of one) the two threads are slower than one (docs/decisions.md).
 *
 * The Worker writes before it hashes: the write's copy brings the chunk into
 * that core's cache, and hashing a chunk filled on the other core cost 0.25 s
 * more per GiB. Small downloads (a Worker costs milliseconds to start),
 * compressed ones (whose inflater already has the second core) and one-CPU
 * hosts write and hash inline.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { CONCURRENT_WRITE_PIECE, WRITE_PIECE, writeAllSync } from "../file_write.ts";
import { startStreamWorker } from "./stream_worker.ts";

/** Appends to the part and hashes. */
export interface PartWriter {
  /** Append `chunk` to the part and hash it. */
  append(chunk: Uint8Array): Promise<void>;
  /** Hash `chunk`, which is in the part already (a resumed download's first bytes). */
  hashOnly(chunk: Uint8Array): Promise<void>;
  /** Wait until everything appended is in the file (before keeping the part for a resume). */
  drain(): Promise<void>;
  /** The hex sha256 of everything appended or hashed; the part is complete. Call once. */
  finish(): Promise<string>;
  /** Stop a worker, if any (idempotent). */
  dispose(): void;
}

/** Below this many bytes a plain download stays on one thread: a Worker's start costs more. */
export const WORKER_MIN_BYTES = 32 * 1024 * 1024;

/**
 * Whether a plain download of `expectedBytes` (null: unknown) is worth a
 * writer thread: it is large, and there is a second CPU to run it.
 */
export function wantsWriterThread(expectedBytes: number | null): boolean {
  return (expectedBytes === null || expectedBytes >= WORKER_MIN_BYTES) &&
    navigator.hardwareConcurrency >= 2;
}

/** Thrown when the worker could not write the part (disk full, ...). */
export class PartWriteError extends Error {}

const WORKER_SOURCE = `
import { createHash } from "node:crypto";
const hash = createHash("sha256");
let out = null, failed = false;
self.onmessage = ({ data: m }) => {
  if (failed) return;
  let writing = false;
  try {
    if (m.type === "start") {
      writing = true;
      out = Deno.openSync(m.path, { write: true, append: true });
    } else if (m.type === "chunk") {
      const d = new Uint8Array(m.buf, 0, m.len);
      if (m.write) {
        writing = true;
        let o = 0;
        while (o < d.length) o += out.writeSync(d.subarray(o, Math.min(d.length, o + ${WRITE_PIECE})));
        writing = false;
      }
      hash.update(d);
      self.postMessage({ type: "ack", buf: m.buf }, [m.buf]);
    } else if (m.type === "end") {
      writing = true;
      out.close();
      self.postMessage({ type: "done", hex: hash.digest("hex") });
    }
  } catch (err) {
    failed = true;
    try { out?.close(); } catch {}
    self.postMessage({
      type: "error",
      message: err instanceof Error ? err.message : String(err),
      write: writing,
    });
  }
};
`;

/** `writeAllSync`, failing with a {@link PartWriteError}. */
export function writeToPart(part: Deno.FsFile, chunk: Uint8Array, piece = WRITE_PIECE): void {
  try {
    writeAllSync(part, chunk, piece);
  } catch (err) {
    throw new PartWriteError(
      `cannot write the download: ${err instanceof Error ? err.message : err}`,
    );
  }
}

/** Write and hash on this thread (`concurrent`: an inflater writes too, so use smaller pieces). */
export function inlinePartWriter(part: Deno.FsFile, concurrent: boolean): PartWriter {
  const hash = createHash("sha256");
  const piece = concurrent ? CONCURRENT_WRITE_PIECE : WRITE_PIECE;
  return {
    append(chunk) {
      writeToPart(part, chunk, piece);
      hash.update(chunk);
      return Promise.resolve();
    },
    hashOnly(chunk) {
      hash.update(chunk);
      return Promise.resolve();
    },
    drain: () => Promise.resolve(),
    finish: () => Promise.resolve(hash.digest("hex")),
    dispose() {},
  };
}

/**
 * Write and hash on a Worker that appends to `path` (the part, as long as
 * the bytes handed over so far). `append` copies the chunk and waits only
 * while the pool of buffers is full.
 */
export function workerPartWriter(path: string): PartWriter {
  const w = startStreamWorker<{ hex: string }>(
    WORKER_SOURCE,
    { path },
    "the writer thread stopped",
  );
  const check = () => {
    if (w.error === null) return;
    if (w.writeFailed) throw new PartWriteError(`cannot write the download: ${w.error}`);
    throw new Error(`hashing ${path} failed: ${w.error}`);
  };
  return {
    async append(chunk) {
      await w.push(chunk, { write: true });
      check();
    },
    async hashOnly(chunk) {
      await w.push(chunk, { write: false });
      check();
    },
    async drain() {
      await w.drain();
      check();
    },
    async finish() {
      const done = await w.end();
      check();
      w.dispose();
      return done!.hex;
    },
    dispose: () => w.dispose(),
  };
}
