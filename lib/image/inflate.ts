/**
 * Decompression on a second thread. A zstd or gzip image is inflated by a
 * Worker that also writes the output file, so the main thread only reads the
 * socket, hashes and keeps the compressed part; on the 2-core CI machine a
 * 1 GiB zstd pull went from 4.1-4.9 s to 2.2-3.6 s (docs/benchmarks.md).
 *
 * Input reaches the worker through stream_worker.ts's pool of buffers.
 *
 * zstd is decoded frame by frame through node:zlib's native handle into one
 * reused buffer ({@link startZstd}); gzip goes through node:zlib's stream,
 * which also handles multi-member files.
 *
 * @module
 */

import { CONCURRENT_WRITE_PIECE } from "../file_write.ts";
import { startStreamWorker } from "./stream_worker.ts";
import { createZstdFrameWalker } from "./zstd_frames.ts";

export type InflateKind = "zstd" | "gzip";

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
  const message = err instanceof Error ? err.message : String(err);
  self.postMessage({ type: "error", message, write: err?.writing === true });
};
// A failed write or open of the output (disk full, ...) is told apart from bad input.
const io = (f) => {
  try { return f(); } catch (err) { throw Object.assign(err instanceof Error ? err : new Error(String(err)), { writing: true }); }
};
// A node:zlib stream may throw from a nextTick instead of emitting "error"
// (Deno 2.9.6's zstd stream did): catch it here rather than lose the worker.
self.addEventListener("error", (e) => { e.preventDefault(); fail(e.error ?? e.message); });
self.addEventListener("unhandledrejection", (e) => { e.preventDefault(); fail(e.reason); });
const write = (d) => {
  let o = 0;
  // Small pieces: the main thread writes the compressed part meanwhile (lib/file_write.ts).
  while (o < d.length) o += io(() => out.writeSync(d.subarray(o, Math.min(d.length, o + ${CONCURRENT_WRITE_PIECE}))));
  size += d.length;
};
${startZstd.toString()}
self.onmessage = ({ data: m }) => {
  if (failed) return;
  try {
    if (m.type === "start") {
      // A new file, not a truncated one: ext4 flushes a file truncated to zero when it is closed.
      io(() => { try { Deno.removeSync(m.path); } catch (err) { if (!(err instanceof Deno.errors.NotFound)) throw err; } });
      out = io(() => Deno.openSync(m.path, { createNew: true, write: true, mode: 0o600 }));
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
  /** True when that error came from writing the output (disk full, ...). */
  readonly writeFailed: boolean;
  /** Stop the worker (idempotent). */
  dispose(): void;
}

/** Start a worker inflating a `kind` stream into `outPath`. */
export function startInflater(kind: InflateKind, outPath: string): Inflater {
  const w = startStreamWorker<{ size: number }>(
    WORKER_SOURCE,
    { kind, path: outPath },
    "the decompressor stopped",
  );
  return {
    get error() {
      return w.error;
    },
    get writeFailed() {
      return w.writeFailed;
    },
    push: (chunk) => w.push(chunk),
    end: async () => (await w.end())?.size ?? 0,
    dispose: () => w.dispose(),
  };
}
