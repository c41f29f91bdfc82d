/**
 * A Worker fed a byte stream through a small pool of 1 MiB buffers that
 * travel to it and back (transferred, never cloned): memory stays flat however
 * long the stream, and a full pool is the backpressure. The download uses it
 * to write and hash the part (part_writer.ts) and to decompress (inflate.ts)
 * on a second thread.
 *
 * The worker's source is inline (a blob: module) so it works the same from
 * source, from `deno bundle` output and from a compiled binary. Its protocol:
 * it receives `{type: "chunk", buf, len}` and answers `{type: "ack", buf}`
 * (handing `buf` back), receives `{type: "end"}` and answers
 * `{type: "done", ...result}`, and reports `{type: "error", message, write}`
 * (`write` true when writing a file failed, as opposed to bad input).
 *
 * @module
 */

const POOL = 4;
/** The size of each buffer of the pool: no chunk a worker receives is larger. */
const SLOT = 1024 * 1024;

type FromWorker =
  | { type: "ack"; buf: ArrayBuffer }
  | { type: "error"; message: string; write?: boolean }
  | ({ type: "done" } & Record<string, unknown>);

/** A running stream worker; `R` is what its "done" message carries. */
export interface StreamWorker<R> {
  /**
   * Queue `chunk` (copied; the caller may reuse it at once), with `fields`
   * added to each message. Waits while the pool is full.
   */
  push(chunk: Uint8Array, fields?: Record<string, unknown>): Promise<void>;
  /** Wait until the worker has handled every chunk queued so far. */
  drain(): Promise<void>;
  /** Finish: the worker's result once it has handled everything (null after an error). */
  end(): Promise<R | null>;
  /** The worker's error, once it reported one. */
  readonly error: string | null;
  /** True when that error came from writing a file (disk full, ...), not from the input. */
  readonly writeFailed: boolean;
  /** Stop the worker (idempotent). */
  dispose(): void;
}

/** Start a worker running `source`, sending it `start` first. */
export function startStreamWorker<R>(
  source: string,
  start: Record<string, unknown>,
  failure: string,
): StreamWorker<R> {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  URL.revokeObjectURL(url);
  const free: ArrayBuffer[] = Array.from({ length: POOL }, () => new ArrayBuffer(SLOT));
  let error: string | null = null;
  let writeFailed = false;
  let wake: (() => void) | null = null;
  let result: R | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
    if (data.type === "ack") free.push(data.buf as ArrayBuffer);
    else if (data.type === "done") result = data as unknown as R;
    else {
      error = data.message as string;
      writeFailed = data.write === true;
    }
    notify();
  };
  worker.onerror = (e) => {
    e.preventDefault();
    error = e.message || failure;
    notify();
  };
  const waitFor = async (ready: () => boolean) => {
    while (!ready() && error === null) await new Promise<void>((r) => (wake = r));
  };
  worker.postMessage({ type: "start", ...start });

  return {
    get error() {
      return error;
    },
    get writeFailed() {
      return writeFailed;
    },
    async push(chunk, fields = {}) {
      for (let off = 0; off < chunk.length && error === null; off += SLOT) {
        await waitFor(() => free.length > 0);
        if (error !== null) break;
        const buf = free.pop()!;
        const part = chunk.subarray(off, off + SLOT);
        new Uint8Array(buf).set(part);
        worker.postMessage({ ...fields, type: "chunk", buf, len: part.length }, [buf]);
      }
    },
    drain: () => waitFor(() => free.length === POOL),
    async end() {
      if (error === null) {
        worker.postMessage({ type: "end" });
        await waitFor(() => result !== null);
      }
      return result;
    },
    dispose() {
      worker.terminate();
    },
  };
}
