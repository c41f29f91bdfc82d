/**
 * The data region of an image: every file's bytes, each padded with zeros to
 * whole sectors, in layout order. A file on disk is read when the image is
 * written and must still have the size it had when the image was planned: the
 * directory records already hold that size.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { writeAllSync } from "../file_write.ts";
import { host } from "../../host/mod.ts";
import type { HostFile } from "../../host/mod.ts";

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

/** Bytes copied at a time into a file: the writer holds no more than this of file data. */
const SPAN = 1 << 20;

/** A source file's size changed between planning and writing. */
export function sourceChanged(path: string): Diagnostic {
  return new Diagnostic(
    "vmctl::iso::source_changed",
    `${path} changed size while the ISO was written`,
    { hint: "do not modify the input files while building the image, then retry" },
  );
}

/**
 * Read `path` from `pos` into `dst` exactly. `ends` says the file must end right after: it is
 * probed for one more byte, so a file that grew is refused as well as one that shrank.
 */
function readSource(path: string, pos: number, dst: Uint8Array, ends: boolean): void {
  const src = host.openSync(path, { read: true });
  try {
    if (pos > 0) src.seekSync(pos);
    for (let got = 0; got < dst.length;) {
      const r = src.readSync(dst.subarray(got));
      if (r === null) throw sourceChanged(path);
      got += r;
    }
    if (ends && src.readSync(new Uint8Array(1)) !== null) throw sourceChanged(path);
  } finally {
    src.close();
  }
}

/**
 * Fill `dst` with the region's bytes from `start` on; returns the index of the first item that
 * reaches past `dst`, where the next, later range starts looking (`from`).
 */
function fillRange(
  region: DataRegion,
  start: number,
  dst: Uint8Array,
  from: number,
  sector: number,
): number {
  const { items, offsets } = region;
  const end = start + dst.length;
  let i = from;
  for (; i < items.length && offsets[i] < end; i++) {
    const it = items[i];
    const off = offsets[i];
    const padded = Math.ceil(it.size / sector) * sector;
    if (off + padded <= start) continue;
    const a = Math.max(start, off); // this item's bytes in [a, b)
    const b = Math.min(end, off + it.size);
    if (b > a && it.data) dst.set(it.data.subarray(a - off, b - off), a - start);
    else if (b > a) {
      readSource(it.path!, a - off, dst.subarray(a - start, b - start), b === off + it.size);
    }
    // The zeros after the file, up to its sector's end (the span buffer is reused).
    const za = Math.max(start, off + it.size);
    const zb = Math.min(end, off + padded);
    if (zb > za) dst.fill(0, za - start, zb - start);
    if (off + padded > end) return i;
  }
  return i;
}

/** Fill `dst`, exactly the size of the region (an image in memory). */
export function readDataRegionInto(region: DataRegion, dst: Uint8Array, sector: number): void {
  fillRange(region, 0, dst, 0, sector);
}

/** Append the region to `out`, one span at a time. */
export function writeDataRegion(region: DataRegion, out: HostFile, sector: number): void {
  const buf = new Uint8Array(Math.min(SPAN, region.size));
  let from = 0;
  for (let start = 0; start < region.size; start += SPAN) {
    const chunk = buf.subarray(0, Math.min(SPAN, region.size - start));
    from = fillRange(region, start, chunk, from, sector);
    writeAllSync(out, chunk);
  }
}
