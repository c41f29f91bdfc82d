/**
 * The data region of an image: every file's bytes, each padded with zeros to
 * whole sectors, in layout order. The region is copied in 1 MiB spans that
 * any thread can fill and write on its own, each at its final offset: small
 * images on the calling thread, large ones on the calling thread and a Worker
 * together. The Worker can start before the rest of the image is laid out
 * (write.ts): file data goes at a reserved offset (reserve.ts), so copying it
 * overlaps naming and sorting the tree, and both cores read sources while the
 * file system takes the writes one at a time (docs/decisions.md).
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { WRITE_PIECE } from "../file_write.ts";

/** One file of the data region: bytes in memory, or a file on disk of a known size. */
export interface DataItem {
  size: number;
  data?: Uint8Array;
  path?: string;
}

/** The files of a data region and where each starts, in bytes from the region's start. */
export interface DataRegion {
  items: DataItem[];
  offsets: number[];
  /** Bytes in the region: every file rounded up to whole sectors. */
  size: number;
}

/** Lay `items` out back to back, each starting on a sector boundary. */
export function dataRegion(items: DataItem[], sector: number): DataRegion {
  const offsets: number[] = [];
  let size = 0;
  for (const it of items) {
    offsets.push(size);
    size += Math.ceil(it.size / sector) * sector;
  }
  return { items, offsets, size };
}

/** Bytes in one span: the unit a thread claims, fills and writes. */
const SPAN = 1 << 20;

/** How a source that does not match its planned size is reported (must throw). */
type OnChanged = (path: string) => never;

/**
 * Fill `dst` with the region's bytes from `start` on; returns the index of the last item it
 * touched, where the caller's next, later range can start looking (`from`). Self-contained on
 * purpose (no imports, no outer names): the worker runs this function's source text.
 */
export function fillRange(
  region: DataRegion,
  start: number,
  dst: Uint8Array,
  from: number,
  onChanged: OnChanged,
  sector: number,
): number {
  const { items, offsets } = region;
  const end = start + dst.length;
  const padded = (i: number) => Math.ceil(items[i].size / sector) * sector;
  let i = Math.min(from, items.length);
  while (i > 0 && offsets[i - 1] + padded(i - 1) > start) i--;
  while (i < items.length && offsets[i] + padded(i) <= start) i++;
  let last = i;
  for (; i < items.length && offsets[i] < end; i++) {
    const it = items[i];
    const off = offsets[i];
    last = i;
    const a = Math.max(start, off); // this item's bytes in [a, b)
    const b = Math.min(end, off + it.size);
    if (b > a && it.data) dst.set(it.data.subarray(a - off, b - off), a - start);
    else if (b > a) {
      const path = it.path!;
      const src = Deno.openSync(path);
      try {
        if (a > off) src.seekSync(a - off, Deno.SeekMode.Start);
        const ends = b === off + it.size;
        // Where the file ends in this range, ask for one byte more: a regular file that gives
        // exactly the rest has ended (it is overwritten next); otherwise probe after the loop.
        const room = ends && b < end ? 1 : 0;
        const want = b - a + room;
        let got = 0;
        while (got < b - a) {
          const r = src.readSync(dst.subarray(a - start + got, a - start + want));
          if (r === null) onChanged(path);
          got += r!;
        }
        if (got > b - a) onChanged(path);
        if (ends && room === 0 && src.readSync(new Uint8Array(1)) !== null) onChanged(path);
      } finally {
        src.close();
      }
    }
    // The zeros after the file, up to its sector's end (span buffers are reused).
    const za = Math.max(start, off + it.size);
    const zb = Math.min(end, off + padded(i));
    if (zb > za) dst.fill(0, za - start, zb - start);
  }
  return last;
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

/** Fill `dst`, exactly the size of the region, on this thread (an image in memory). */
export function readDataRegionInto(region: DataRegion, dst: Uint8Array, sector: number): void {
  fillRange(region, 0, dst, 0, throwChanged, sector);
}

/**
 * Control words shared with the worker: [0] the next span to claim, [1] spans written, [2] the
 * worker's state (0, or FAILED), [3] stop (set by whichever thread fails first). `copySpans` is
 * self-contained, so it spells the first, second and last as 0, 1 and 3.
 */
const DONE = 1, STATE = 2, STOP = 3;
const FAILED = 1;
/** No span finished for this long while the worker holds one: it is stuck in a read. */
const STALL_MS = 60_000;

/**
 * Claim spans until none is left (or `control[STOP]` is set), filling and writing each at
 * `base` + its offset through `out`. Self-contained, like {@link fillRange}, which it gets
 * as `fill`.
 */
export function copySpans(
  region: DataRegion,
  control: Int32Array,
  out: Deno.FsFile,
  base: number,
  fill: typeof fillRange,
  onChanged: OnChanged,
  sector: number,
  span: number,
  piece: number,
): void {
  const buf = new Uint8Array(Math.min(span, region.size));
  let from = 0;
  for (;;) {
    if (Atomics.load(control, 3)) return; // STOP
    const start = Atomics.add(control, 0, 1) * span; // NEXT
    if (start >= region.size) return;
    const chunk = buf.subarray(0, Math.min(span, region.size - start));
    from = fill(region, start, chunk, from, onChanged, sector);
    out.seekSync(base + start, Deno.SeekMode.Start);
    for (let o = 0; o < chunk.length;) {
      o += out.writeSync(chunk.subarray(o, Math.min(chunk.length, o + piece)));
    }
    Atomics.add(control, 1, 1); // DONE
    Atomics.notify(control, 1);
  }
}

const WORKER_SOURCE = `
const fillRange = ${fillRange.toString()};
const copySpans = ${copySpans.toString()};
self.onmessage = ({ data: m }) => {
  const control = new Int32Array(m.control);
  let out;
  try {
    out = Deno.openSync(m.path, { write: true });
    const changed = (path) => { throw { changed: path }; };
    copySpans(m.region, control, out, m.base, fillRange, changed, m.sector, m.span, m.piece);
  } catch (err) {
    const report = err && err.changed !== undefined
      ? { changed: err.changed }
      : { name: err?.name ?? "Error", message: err?.message ?? String(err) };
    const bytes = new TextEncoder().encode(JSON.stringify(report)).subarray(0, m.error.byteLength - 4);
    new Uint8Array(m.error, 4).set(bytes);
    new Int32Array(m.error, 0, 1)[0] = bytes.length;
    Atomics.store(control, ${STOP}, 1);
    Atomics.store(control, ${STATE}, ${FAILED});
    Atomics.add(control, ${DONE}, 1);
    Atomics.notify(control, ${DONE});
  } finally {
    out?.close();
  }
};
`;

/** A copy of a data region into a file, started by {@link startDataCopy}. */
export interface DataCopy {
  /**
   * Copy what is left on this thread (writing through `out`), wait for the worker's spans,
   * and stop it. Throws the first failure of either thread.
   */
  finish(out: Deno.FsFile): void;
  /** Stop the worker without waiting (the image failed elsewhere). */
  cancel(): void;
}

/**
 * Start copying `region` into the file at `path` (already created), `base` bytes in. With
 * `worker`, a Worker starts on it now, writing through its own handle, and the caller's
 * {@link DataCopy.finish} joins in; without, `finish` does it all.
 */
export function startDataCopy(
  region: DataRegion,
  path: string,
  base: number,
  sector: number,
  worker: boolean,
): DataCopy {
  const control = new Int32Array(new SharedArrayBuffer(4 * 4));
  const error = new SharedArrayBuffer(8192);
  let w: Worker | undefined;
  if (worker && region.size > 0) {
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    w = new Worker(url, { type: "module" });
    URL.revokeObjectURL(url);
    w.postMessage({
      region,
      control: control.buffer,
      error,
      path,
      base,
      sector,
      span: SPAN,
      piece: WRITE_PIECE,
    });
  }
  const spans = Math.ceil(region.size / SPAN);
  return {
    finish(out) {
      try {
        copySpans(region, control, out, base, fillRange, throwChanged, sector, SPAN, WRITE_PIECE);
        // The worker may still be writing the spans it claimed. It fails by setting STATE, then
        // bumping DONE, so a failure after the check below still ends the wait.
        for (;;) {
          const done = Atomics.load(control, DONE);
          if (Atomics.load(control, STATE) === FAILED) throw workerError(error);
          if (done >= spans) break;
          if (Atomics.wait(control, DONE, done, STALL_MS) === "timed-out") throw stalled();
        }
      } finally {
        Atomics.store(control, STOP, 1);
        w?.terminate();
      }
    },
    cancel() {
      Atomics.store(control, STOP, 1);
      w?.terminate();
    },
  };
}

function stalled(): Diagnostic {
  return new Diagnostic(
    "vmctl::iso::read_stalled",
    `reading the image's source files made no progress for ${STALL_MS / 1000} s`,
    { hint: "check that the source files' file system answers (a hung network mount?)" },
  );
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
