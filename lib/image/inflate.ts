/**
 * Decompression on a second thread. A zstd or gzip image is inflated by a
 * Worker that also writes the output file, so the main thread only reads the
 * socket, hashes and keeps the compressed part; on the 2-core CI machine a
 * 1 GiB zstd pull went from 4.1-4.9 s to 2.2-3.6 s (docs/benchmarks.md).
 *
 * Input is copied into a small pool of 1 MiB buffers that travel to the
 * worker and back (transferred, never cloned): memory stays flat however
 * large the image, and a full pool is the backpressure.
 *
 * zstd is decoded frame by frame through node:zlib's native handle into one
 * reused buffer ({@link startZstd}); gzip goes through node:zlib's stream,
 * which also handles multi-member files.
 *
 * The worker's source is inline (a blob: module) so it works the same from
 * source, from `deno bundle` output and from a compiled binary.
 *
 * @module
 */

import { CONCURRENT_WRITE_PIECE } from "../file_write.ts";
import { createZstdFrameWalker } from "./zstd_frames.ts";

export type InflateKind = "zstd" | "gzip";

/** What the worker reports. */
type FromWorker =
  | { type: "ack"; buf: ArrayBuffer }
  | { type: "done"; size: number }
  | { type: "error"; message: string };

const POOL = 4;
const SLOT = 1024 * 1024;
const OUT_CHUNK = 256 * 1024;

/**
 * A zstd decoder driven through node:zlib's native handle, one frame at a
 * time. The handle decodes into one reused buffer: the node stream around it
 * allocated (and zeroed) a new buffer for every 256 KiB of output and cost
 * 0.25-0.3 s more CPU per GiB (docs/benchmarks.md).
 * Frames are found by {@link createZstdFrameWalker}; the decoder is reset
 * after each, because Deno 2.9.6's decoder ignores everything after the first
 * frame. Self-contained: the worker runs its source text.
 */
function startZstd(
  createZstdDecompress: () => unknown,
  createWalker: typeof createZstdFrameWalker,
  write: (d: Uint8Array) => void,
  outChunk: number,
): { push(chunk: Uint8Array): void; end(): void } {
  // The handle is node:zlib's binding object (writeSync/reset and a
  // [availOut, availIn] state array), not a public API: check its shape.
  const stream = createZstdDecompress() as {
    _handle?: {
      writeSync?: unknown;
      reset?: unknown;
      onerror?: unknown;
    };
    _writeState?: unknown;
  };
  const h = stream._handle;
  const state = stream._writeState;
  if (
    typeof h?.writeSync !== "function" || typeof h.reset !== "function" ||
    !(state instanceof Uint32Array)
  ) {
    throw new Error(
      "this Deno's node:zlib has no zstd decoder handle (vmctl is built for Deno 2.9)",
    );
  }
  const handle = h as {
    writeSync(
      flush: number,
      i: Uint8Array,
      io: number,
      il: number,
      o: Uint8Array,
      oo: number,
      ol: number,
    ): void;
    reset(): void;
    onerror: (message: string) => void;
  };
  let failure: string | null = null;
  handle.onerror = (message) => failure ??= String(message);
  const walker = createWalker();
  const buf = new Uint8Array(outChunk);
  let frameSize = 0;
  const decode = (input: Uint8Array, off: number, len: number) => {
    for (;;) {
      handle.writeSync(0, input, off, len, buf, 0, buf.length);
      if (failure) throw new Error(failure);
      const produced = buf.length - state[0];
      const consumed = len - state[1];
      if (produced > 0) write(buf.subarray(0, produced));
      frameSize += produced;
      off += consumed;
      len -= consumed;
      if (len === 0 && state[0] !== 0) return;
      if (produced === 0 && consumed === 0) throw new Error("the decoder stopped making progress");
    }
  };
  return {
    push(chunk) {
      let pos = 0;
      while (pos < chunk.length) {
        const n = walker.scan(chunk, pos, chunk.length);
        decode(chunk, pos, n);
        pos += n;
        if (!walker.frameEnded) continue;
        if (walker.contentSize >= 0 && frameSize !== walker.contentSize) {
          throw new Error(
            `frame ${walker.frames} decoded to ${frameSize} bytes, its header says ${walker.contentSize}`,
          );
        }
        frameSize = 0;
        handle.reset();
      }
    },
    end() {
      if (walker.inFrame) throw new Error("it ends inside a frame (the file is cut short)");
      if (walker.frames === 0) throw new Error("it holds no zstd frame");
    },
  };
}

const WORKER_SOURCE = `
import { createGunzip, createZstdDecompress } from "node:zlib";
const createZstdFrameWalker = ${createZstdFrameWalker.toString()};
let z = null, zstd = null, out = null, size = 0, failed = false;
const fail = (err) => {
  if (failed) return;
  failed = true;
  try { out?.close(); } catch {}
  self.postMessage({ type: "error", message: err instanceof Error ? err.message : String(err) });
};
// A node:zlib stream may throw from a nextTick instead of emitting "error"
// (Deno 2.9.6's zstd stream did): catch it here rather than lose the worker.
self.addEventListener("error", (e) => { e.preventDefault(); fail(e.error ?? e.message); });
self.addEventListener("unhandledrejection", (e) => { e.preventDefault(); fail(e.reason); });
const write = (d) => {
  let o = 0;
  // Small pieces: the main thread writes the compressed part meanwhile (lib/file_write.ts).
  while (o < d.length) o += out.writeSync(d.subarray(o, Math.min(d.length, o + ${CONCURRENT_WRITE_PIECE})));
  size += d.length;
};
${startZstd.toString()}
self.onmessage = ({ data: m }) => {
  if (failed) return;
  try {
    if (m.type === "start") {
      // A new file, not a truncated one: ext4 flushes a file truncated to zero when it is closed.
      try { Deno.removeSync(m.path); } catch (err) { if (!(err instanceof Deno.errors.NotFound)) throw err; }
      out = Deno.openSync(m.path, { createNew: true, write: true, mode: 0o600 });
      if (m.kind === "zstd") {
        zstd = startZstd(createZstdDecompress, createZstdFrameWalker, write, ${OUT_CHUNK});
        return;
      }
      z = createGunzip({ chunkSize: ${OUT_CHUNK} });
      z.on("data", (d) => {
        try { write(d); } catch (err) { fail(err); }
      });
      z.on("error", fail);
      z.on("end", () => {
        if (failed) return;
        out.close();
        self.postMessage({ type: "done", size });
      });
    } else if (m.type === "chunk") {
      const ack = () => self.postMessage({ type: "ack", buf: m.buf }, [m.buf]);
      if (zstd) {
        zstd.push(new Uint8Array(m.buf, 0, m.len));
        ack();
      } else {
        z.write(new Uint8Array(m.buf, 0, m.len), ack);
      }
    } else if (m.type === "end") {
      if (zstd) {
        zstd.end();
        out.close();
        self.postMessage({ type: "done", size });
      } else {
        z.end();
      }
    }
  } catch (err) { fail(err); }
};
`;

/** A running decompressor writing to `outPath`. */
export interface Inflater {
  /** Queue `chunk` (copied; the caller may reuse it at once). Waits while the pool is full. */
  push(chunk: Uint8Array): Promise<void>;
  /** Finish: the decompressed size once the output file is complete and closed (check `error`). */
  end(): Promise<number>;
  /** The worker's error, once it reported one (corrupt input, a failed write). */
  readonly error: string | null;
  /** Stop the worker (idempotent). */
  dispose(): void;
}

/** Start a worker inflating a `kind` stream into `outPath`. */
export function startInflater(kind: InflateKind, outPath: string): Inflater {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  URL.revokeObjectURL(url);
  const free: ArrayBuffer[] = Array.from({ length: POOL }, () => new ArrayBuffer(SLOT));
  let error: string | null = null;
  let wake: (() => void) | null = null;
  let doneSize: number | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
    if (data.type === "ack") free.push(data.buf);
    else if (data.type === "done") doneSize = data.size;
    else error = data.message;
    notify();
  };
  worker.onerror = (e) => {
    e.preventDefault();
    error = e.message || "the decompressor stopped";
    notify();
  };
  const waitFor = async (ready: () => boolean) => {
    while (!ready() && error === null) await new Promise<void>((r) => (wake = r));
  };
  worker.postMessage({ type: "start", kind, path: outPath });

  return {
    get error() {
      return error;
    },
    async push(chunk) {
      for (let off = 0; off < chunk.length && error === null; off += SLOT) {
        await waitFor(() => free.length > 0);
        if (error !== null) break;
        const buf = free.pop()!;
        const part = chunk.subarray(off, off + SLOT);
        new Uint8Array(buf).set(part);
        worker.postMessage({ type: "chunk", buf, len: part.length }, [buf]);
      }
    },
    async end() {
      if (error === null) {
        worker.postMessage({ type: "end" });
        await waitFor(() => doneSize !== null);
      }
      return doneSize ?? 0;
    },
    dispose() {
      worker.terminate();
    },
  };
}
