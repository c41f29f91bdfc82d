/**
 * Decompression of a downloaded image while it streams, on the calling
 * thread, through node:zlib's public streams: `createGunzip` (which also
 * reads multi-member files) and `createZstdDecompress`, one decoder per zstd
 * frame because Deno's zstd decoder stops at the end of the first frame
 * (zstd_frames.ts finds the frames).
 *
 * @module
 */
import process from "node:process";
import * as zlib from "node:zlib";
import { Decompress as PureZstdDecompress } from "fzstd";
import type { Transform } from "node:stream";
import { writeAllSync } from "../file_write.ts";
import { createZstdFrameWalker } from "./zstd_frames.ts";
import { host, isNotFound } from "../../host/mod.ts";
import type { HostFile } from "../../host/mod.ts";

export type InflateKind = "zstd" | "gzip";

/** Bytes of output the decoder hands over at a time. */
const OUT_CHUNK = 256 * 1024;

/** The input is not a valid stream of its kind. */
export class CorruptStreamError extends Error {}

/** The output file could not be written (disk full, ...). */
export class OutputWriteError extends Error {}

/** A running decompressor writing to `outPath`. */
export interface Inflater {
  /** Decompress `chunk` into the output; resolves once it is written. */
  push(chunk: Uint8Array): Promise<void>;
  /** Finish: the decompressed size once the output file is complete and closed. */
  end(): Promise<number>;
  /** Close the output (idempotent). */
  dispose(): void;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * One node:zlib decoder whose output goes to `write`. `feed` and `finish` resolve once the
 * decoder has taken the bytes (or ended), and reject with its first error.
 */
function decoder(stream: Transform, write: (d: Uint8Array) => void) {
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const fail = (err: Error) => {
    failure ??= err;
    wake?.();
  };
  stream.on("data", (d: Uint8Array) => {
    try {
      write(d);
    } catch (err) {
      fail(new OutputWriteError(message(err)));
      stream.destroy();
    }
  });
  stream.on("error", (err: Error) => fail(new CorruptStreamError(err.message)));
  const settle = (start: (done: () => void) => void) =>
    new Promise<void>((resolve, reject) => {
      const done = () => (failure ? reject(failure) : resolve());
      if (failure) return done();
      wake = done;
      start(done);
    });
  return {
    feed: (chunk: Uint8Array) => settle((done) => stream.write(chunk, () => done())),
    finish: () => settle((done) => stream.once("end", done).end()),
    corrupt(err: Error) {
      fail(new CorruptStreamError(err.message));
      stream.destroy();
    },
  };
}

/**
 * A zstd frame decoder. Deno's decoder throws a bad frame's error (a checksum that does not match)
 * from a tick instead of emitting `error`, where only the process-wide hook sees it; while the frame
 * is open that error is routed to it (vmctl pulls one image at a time, so the open frame is the one
 * that failed). Any other uncaught error is thrown on, as fatal as before.
 */
function zstdFrameDecoder(write: (d: Uint8Array) => void) {
  if (!zlib.createZstdDecompress) return pureZstdFrameDecoder(write);
  const d = decoder(zlib.createZstdDecompress({ chunkSize: OUT_CHUNK }), write);
  const onUncaught = (err: unknown) => {
    if (!(err instanceof Error && err.message.startsWith("Zstd decompress error"))) throw err;
    d.corrupt(err);
  };
  process.on("uncaughtException", onUncaught);
  return { ...d, close: () => process.off("uncaughtException", onUncaught) };
}

/**
 * A zstd frame decoder in JavaScript (fzstd), for runtimes whose node:zlib has none (Node 20,
 * which illumos distributions ship). It throws a bad frame's error where it is fed.
 */
function pureZstdFrameDecoder(write: (d: Uint8Array) => void) {
  let failure: CorruptStreamError | undefined;
  const inflater = new PureZstdDecompress((chunk) => write(chunk));
  const push = (chunk: Uint8Array, final: boolean) => {
    if (failure) throw failure;
    try {
      inflater.push(chunk, final);
    } catch (err) {
      throw (failure = new CorruptStreamError(message(err)));
    }
  };
  return {
    feed: (chunk: Uint8Array) => Promise.resolve().then(() => push(chunk, false)),
    finish: () => Promise.resolve().then(() => push(new Uint8Array(), true)),
    corrupt(err: Error) {
      failure = new CorruptStreamError(err.message);
    },
    close: () => {},
  };
}

/** Start inflating a `kind` stream into `outPath` (replaced if present). */
export function startInflater(kind: InflateKind, outPath: string): Inflater {
  let out: HostFile | null = null;
  try {
    // A new file, not a truncated one: ext4 flushes a file truncated to zero when it is closed.
    host.removeSync(outPath);
  } catch (err) {
    if (!(isNotFound(err))) throw new OutputWriteError(message(err));
  }
  try {
    out = host.openSync(outPath, { createNew: true, write: true, mode: 0o600 });
  } catch (err) {
    throw new OutputWriteError(message(err));
  }
  let size = 0;
  const write = (d: Uint8Array) => {
    writeAllSync(out!, d);
    size += d.length;
  };
  const dispose = () => {
    try {
      out?.close();
    } catch { /* closed */ }
    out = null;
  };
  const body = kind === "zstd" ? zstdFrames(write) : gzip(write);
  return {
    push: body.push,
    async end() {
      await body.end();
      dispose();
      return size;
    },
    dispose() {
      body.dispose();
      dispose();
    },
  };
}

function gzip(write: (d: Uint8Array) => void) {
  const d = decoder(zlib.createGunzip({ chunkSize: OUT_CHUNK }), write);
  return { push: d.feed, end: d.finish, dispose: () => {} };
}

/** A zstd stream, frame by frame, each frame's size checked against its header's when it has one. */
function zstdFrames(write: (d: Uint8Array) => void) {
  const walker = createZstdFrameWalker();
  let frameSize = 0;
  let current: ReturnType<typeof zstdFrameDecoder> | null = null;
  const counted = (d: Uint8Array) => {
    write(d);
    frameSize += d.length;
  };
  const corrupt = (what: string) => new CorruptStreamError(what);
  const close = () => {
    current?.close();
    current = null;
  };
  const push = async (chunk: Uint8Array) => {
    let pos = 0;
    while (pos < chunk.length) {
      let n: number;
      try {
        n = walker.scan(chunk, pos, chunk.length);
      } catch (err) {
        throw corrupt(message(err));
      }
      current ??= zstdFrameDecoder(counted);
      await current.feed(chunk.subarray(pos, pos + n));
      pos += n;
      if (!walker.frameEnded) continue;
      await current.finish();
      close();
      if (walker.contentSize >= 0 && frameSize !== walker.contentSize) {
        throw corrupt(
          `frame ${walker.frames} decoded to ${frameSize} bytes, its header says ${walker.contentSize}`,
        );
      }
      frameSize = 0;
    }
  };
  return {
    push: (chunk: Uint8Array) =>
      push(chunk).catch((err) => {
        close();
        throw err;
      }),
    end() {
      close();
      if (walker.inFrame) throw corrupt("it ends inside a frame (the file is cut short)");
      if (walker.frames === 0) throw corrupt("it holds no zstd frame");
      return Promise.resolve();
    },
    dispose: close,
  };
}
