/**
 * The data region of an image: every file's bytes, each padded with zeros to
 * whole sectors, in layout order. Small images copy it on the calling thread;
 * large ones read ahead on a Worker into shared buffers while this thread
 * writes, so reading the sources and writing the image (two kernel copies of
 * every byte) overlap on two cores: writing a 211 MB tree's image on tmpfs
 * went from 153 to 132 ms, the Worker's ~18 ms start included
 * (docs/benchmarks.md).
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { writeAllSync } from "../file_write.ts";

/** One file of the data region: bytes in memory, or a file on disk of a known size. */
export interface DataItem {
  size: number;
  data?: Uint8Array;
  path?: string;
}

/** How a source that does not match its planned size is reported (must throw). */
type OnChanged = (path: string) => never;

/**
 * Copy the data region of `items` through `buf`, handing each full buffer (and the last, partial
 * one) to `emit`, which returns the buffer to fill next. Self-contained on purpose (no imports,
 * no outer names): the read-ahead worker runs this function's source text.
 */
export function copyDataRegion(
  items: DataItem[],
  first: Uint8Array,
  emit: (full: Uint8Array, length: number) => Uint8Array,
  onChanged: OnChanged,
  sector: number,
): void {
  const probe = new Uint8Array(1);
  let buf = first;
  let pos = 0;
  const room = () => {
    if (pos === buf.length) {
      buf = emit(buf, pos);
      pos = 0;
    }
  };
  for (const it of items) {
    if (it.size === 0) continue;
    if (it.data) {
      for (let o = 0; o < it.size;) {
        room();
        const n = Math.min(it.size - o, buf.length - pos);
        buf.set(it.data.subarray(o, o + n), pos);
        pos += n;
        o += n;
      }
    } else {
      const path = it.path!;
      const src = Deno.openSync(path);
      try {
        let left = it.size;
        let sawEnd = false;
        while (left > 0) {
          room();
          const n = Math.min(left, buf.length - pos);
          // The last piece asks for one byte more when the buffer has room: a regular file that
          // returns exactly the rest has ended, which saves a read per file (most are small).
          const want = n === left && pos + n < buf.length ? n + 1 : n;
          let got = 0;
          while (got < n) {
            const r = src.readSync(buf.subarray(pos + got, pos + want));
            if (r === null) onChanged(path);
            got += r!;
          }
          if (got > n) onChanged(path);
          sawEnd = want > n;
          pos += n;
          left -= n;
        }
        if (!sawEnd && src.readSync(probe) !== null) onChanged(path);
      } finally {
        src.close();
      }
    }
    // Zero the tail of the last sector (buffers are reused, so they may hold old bytes).
    for (let tail = (sector - (it.size % sector)) % sector; tail > 0;) {
      room();
      const n = Math.min(tail, buf.length - pos);
      buf.fill(0, pos, pos + n);
      pos += n;
      tail -= n;
    }
  }
  if (pos > 0) emit(buf, pos);
}

/** A source file's size changed between planning and writing. */
export function sourceChanged(path: string): Diagnostic {
  return new Diagnostic(
    "vmctl::iso::source_changed",
    `${path} changed size while the ISO was written`,
    { hint: "do not modify the input files while building the image, then retry" },
  );
}

const throwChanged: OnChanged = (path) => {
  throw sourceChanged(path);
};

/** Fill `dst`, exactly the size of the data region, on this thread (an image in memory). */
export function readDataRegionInto(items: DataItem[], dst: Uint8Array, sector: number): void {
  copyDataRegion(items, dst, (buf) => buf, throwChanged, sector);
}

/** Write the data region of `items` to `out` on this thread, through one buffer. */
export function writeDataRegion(items: DataItem[], out: Deno.FsFile, sector: number): void {
  copyDataRegion(
    items,
    new Uint8Array(4 << 20),
    (buf, n) => {
      writeAllSync(out, buf.subarray(0, n));
      return buf;
    },
    throwChanged,
    sector,
  );
}

const SLOTS = 4;
const SLOT = 1 << 20;
/** Slot states in the control array. */
const EMPTY = 0, FULL = 1, FAILED = 2;
/** A slot that stays empty this long means the worker is gone. */
const STALL_MS = 60_000;

const WORKER_SOURCE = `
const copyDataRegion = ${copyDataRegion.toString()};
self.onmessage = ({ data: m }) => {
  const state = new Int32Array(m.control);
  const view = (i) => new Uint8Array(m.data, i * ${SLOT}, ${SLOT});
  let i = 0;
  const emit = (_buf, len) => {
    state[${SLOTS} + i] = len;
    Atomics.store(state, i, ${FULL});
    Atomics.notify(state, i);
    i = (i + 1) % ${SLOTS};
    Atomics.wait(state, i, ${FULL});
    return view(i);
  };
  try {
    copyDataRegion(m.items, view(0), emit, (path) => { throw { changed: path }; }, m.sector);
  } catch (err) {
    const report = err && err.changed !== undefined
      ? { changed: err.changed }
      : { name: err?.name ?? "Error", message: err?.message ?? String(err) };
    const bytes = new TextEncoder().encode(JSON.stringify(report)).subarray(0, m.error.byteLength - 4);
    new Uint8Array(m.error, 4).set(bytes);
    new Int32Array(m.error, 0, 1)[0] = bytes.length;
    Atomics.store(state, i, ${FAILED});
    Atomics.notify(state, i);
  }
};
`;

/**
 * Write the data region of `items` to `out` while a Worker reads the sources ahead into shared
 * buffers. Errors come back as on this thread: `source_changed`, or the file error by its name.
 */
export function writeDataRegionReadAhead(
  items: DataItem[],
  out: Deno.FsFile,
  sector: number,
): void {
  let total = 0;
  for (const it of items) total += Math.ceil(it.size / sector) * sector;
  const control = new SharedArrayBuffer(4 * 2 * SLOTS);
  const data = new SharedArrayBuffer(SLOTS * SLOT);
  const error = new SharedArrayBuffer(8192);
  const state = new Int32Array(control);
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  URL.revokeObjectURL(url);
  try {
    worker.postMessage({ items, control, data, error, sector });
    for (let i = 0; total > 0; i = (i + 1) % SLOTS) {
      if (Atomics.wait(state, i, EMPTY, STALL_MS) === "timed-out") {
        throw new Diagnostic(
          "vmctl::iso::read_stalled",
          `reading the image's source files made no progress for ${STALL_MS / 1000} s`,
          { hint: "check that the source files' file system answers (a hung network mount?)" },
        );
      }
      if (Atomics.load(state, i) === FAILED) throw workerError(error);
      const n = state[SLOTS + i];
      writeAllSync(out, new Uint8Array(data, i * SLOT, n));
      total -= n;
      Atomics.store(state, i, EMPTY);
      Atomics.notify(state, i);
    }
  } finally {
    worker.terminate();
  }
}

function workerError(error: SharedArrayBuffer): Error {
  const len = new Int32Array(error, 0, 1)[0];
  const text = new TextDecoder().decode(new Uint8Array(error, 4, len).slice());
  let r: { changed?: string; name?: string; message?: string };
  try {
    r = JSON.parse(text);
  } catch {
    r = { message: text }; // cut at the buffer's end: still say what the worker said
  }
  if (r.changed !== undefined) return sourceChanged(r.changed);
  // The same error class the file call raises on this thread (NotFound, PermissionDenied, ...).
  const Cls = (Deno.errors as Record<string, new (m: string) => Error>)[r.name ?? ""] ?? Error;
  return new Cls(r.message ?? "reading a source file failed");
}
