/**
 * Serialise an {@link IsoLayout}: the metadata sectors are built in one
 * buffer, and the file data is copied into one array (`isoBytes`) or into a
 * file a span at a time (`writeIsoFile`, data.ts), so the writer never holds
 * more than the metadata plus one span.
 *
 * @module
 */
import { dirname } from "../posix_path.ts";
import { Diagnostic } from "../diagnostics.ts";
import { writeAllSync } from "../file_write.ts";
import { writeAtomicWith } from "../files.ts";
import {
  asciiField,
  be16,
  be32,
  both16,
  both32,
  le16,
  le32,
  recordDate,
  SECTOR,
  ucs2Field,
  volumeDate,
} from "./encode.ts";
import {
  type DirNode,
  DOT_LEN,
  type IsoLayout,
  type Node,
  packRecords,
  type PathTable,
  ROOT_DOT_LEN,
} from "./layout.ts";
import {
  type DataItem,
  type DataRegion,
  dataRegion,
  readDataRegionInto,
  writeDataRegion,
} from "./data.ts";
import { NM_CONTINUE, writeCE, writeER, writeNM, writePX, writeSP, writeTF } from "./susp.ts";
import { isNotFound, isRuntimeRefusal } from "../../host/mod.ts";

const FLAG_DIR = 0x02;

/** Write a directory record's fixed part and identifier; returns where system use starts. */
function writeRecordBase(
  b: Uint8Array,
  off: number,
  len: number,
  target: { lba: number; size: number; dir: boolean },
  date: Date,
  id: Uint8Array,
): number {
  b[off] = len;
  both32(b, off + 2, target.lba);
  both32(b, off + 10, target.size);
  recordDate(b, off + 18, date);
  b[off + 25] = target.dir ? FLAG_DIR : 0;
  both16(b, off + 28, 1);
  b[off + 32] = id.length;
  b.set(id, off + 33);
  return off + 33 + id.length + ((id.length & 1) ^ 1);
}

const isoTarget = (n: Node) =>
  n.kind === "dir"
    ? { lba: n.isoLba, size: n.isoSectors * SECTOR, dir: true }
    : { lba: n.lba, size: n.size, dir: false };
const jolietTarget = (n: Node) =>
  n.kind === "dir"
    ? { lba: n.jolietLba, size: n.jolietSectors * SECTOR, dir: true }
    : { lba: n.lba, size: n.size, dir: false };

const nlink = (d: DirNode) => 2 + d.children.filter((c) => c.kind === "dir").length;
const posixMode = (n: Node) => (n.kind === "dir" ? 0o040000 : 0o100000) | (n.mode & 0o7777);
const DOT = new Uint8Array([0]);
const DOTDOT = new Uint8Array([1]);

function writeIsoDirectory(b: Uint8Array, L: IsoLayout, d: DirNode, base: number): void {
  const parent = d.parent ?? d;
  const isRoot = d === L.root;
  const lens = [
    isRoot ? ROOT_DOT_LEN : DOT_LEN,
    DOT_LEN,
    ...d.isoChildren.map((c) => c.isoRecordLen),
  ];
  const { offsets } = packRecords(lens);
  // "." and ".." carry PX/TF; the root's "." also opens SUSP (SP) and links the ER (CE).
  let p = writeRecordBase(b, base + offsets[0], lens[0], isoTarget(d), L.date, DOT);
  if (isRoot) p += writeSP(b, p);
  p += writePX(b, p, posixMode(d), nlink(d));
  p += writeTF(b, p, L.date);
  if (isRoot) writeCE(b, p, L.rootCe.lba, L.rootCe.offset, L.rootCe.length);
  p = writeRecordBase(b, base + offsets[1], lens[1], isoTarget(parent), L.date, DOTDOT);
  p += writePX(b, p, posixMode(parent), nlink(parent));
  writeTF(b, p, L.date);
  d.isoChildren.forEach((c, i) => {
    let q = writeRecordBase(
      b,
      base + offsets[i + 2],
      c.isoRecordLen,
      isoTarget(c),
      L.date,
      c.isoId,
    );
    q += writePX(b, q, posixMode(c), c.kind === "dir" ? nlink(c) : 1);
    q += writeTF(b, q, L.date);
    if (c.spill) {
      const head = c.nmInline!;
      q += writeNM(b, q, c.nm.subarray(0, head), NM_CONTINUE);
      writeCE(b, q, c.spill.lba, c.spill.offset, c.spill.length);
      writeNM(b, c.spill.lba * SECTOR + c.spill.offset, c.nm.subarray(head));
    } else writeNM(b, q, c.nm);
  });
}

function writeJolietDirectory(b: Uint8Array, L: IsoLayout, d: DirNode, base: number): void {
  const lens = [34, 34, ...d.jolietChildren.map((c) => c.jolietRecordLen)];
  const { offsets } = packRecords(lens);
  writeRecordBase(b, base + offsets[0], 34, jolietTarget(d), L.date, DOT);
  writeRecordBase(b, base + offsets[1], 34, jolietTarget(d.parent ?? d), L.date, DOTDOT);
  d.jolietChildren.forEach((c, i) => {
    writeRecordBase(
      b,
      base + offsets[i + 2],
      c.jolietRecordLen,
      jolietTarget(c),
      L.date,
      c.jolietId,
    );
  });
}

function writePathTables(b: Uint8Array, t: PathTable, dirs: DirNode[], joliet: boolean): void {
  let l = t.lbaL * SECTOR;
  let m = t.lbaM * SECTOR;
  for (const d of dirs) {
    const id = joliet ? d.jolietId : d.isoId;
    const extent = joliet ? d.jolietLba : d.isoLba;
    const parent = d.parent ?? d;
    const parentNo = joliet ? parent.jolietNumber : parent.isoNumber;
    for (const [off, big] of [[l, false], [m, true]] as const) {
      b[off] = id.length;
      (big ? be32 : le32)(b, off + 2, extent);
      (big ? be16 : le16)(b, off + 6, parentNo);
      b.set(id, off + 8);
    }
    const len = 8 + id.length + (id.length & 1);
    l += len;
    m += len;
  }
}

function writeDescriptor(b: Uint8Array, L: IsoLayout, joliet: boolean): void {
  const off = (joliet ? 17 : 16) * SECTOR;
  const text = (o: number, len: number, s: string) =>
    joliet ? ucs2Field(b, off + o, len, s) : asciiField(b, off + o, len, s);
  b[off] = joliet ? 2 : 1;
  asciiField(b, off + 1, 5, "CD001");
  b[off + 6] = 1;
  text(8, 32, "");
  text(40, 32, L.volumeId);
  both32(b, off + 80, L.totalSectors);
  if (joliet) b.set([0x25, 0x2f, 0x45], off + 88); // UCS-2 level 3
  both16(b, off + 120, 1);
  both16(b, off + 124, 1);
  both16(b, off + 128, SECTOR);
  const t = joliet ? L.jolietPathTable : L.isoPathTable;
  both32(b, off + 132, t.size);
  le32(b, off + 140, t.lbaL);
  be32(b, off + 148, t.lbaM);
  writeRecordBase(b, off + 156, 34, (joliet ? jolietTarget : isoTarget)(L.root), L.date, DOT);
  text(190, 128, "");
  text(318, 128, "");
  text(446, 128, "");
  text(574, 128, L.applicationId);
  for (const o of [702, 739, 776]) text(o, 37, "");
  volumeDate(b, off + 813, L.date);
  volumeDate(b, off + 830, L.date);
  volumeDate(b, off + 847, null);
  volumeDate(b, off + 864, null);
  b[off + 881] = 1;
}

/** Every sector before the file data: system area, descriptors, path tables, directories, CE. */
export function metadataBytes(L: IsoLayout): Uint8Array {
  const b = new Uint8Array(L.dataStart * SECTOR);
  writeDescriptor(b, L, false);
  writeDescriptor(b, L, true);
  b[18 * SECTOR] = 0xff;
  asciiField(b, 18 * SECTOR + 1, 5, "CD001");
  b[18 * SECTOR + 6] = 1;
  writePathTables(b, L.isoPathTable, L.isoDirs, false);
  writePathTables(b, L.jolietPathTable, L.jolietDirs, true);
  for (const d of L.isoDirs) writeIsoDirectory(b, L, d, d.isoLba * SECTOR);
  for (const d of L.jolietDirs) writeJolietDirectory(b, L, d, d.jolietLba * SECTOR);
  writeER(b, L.rootCe.lba * SECTOR + L.rootCe.offset);
  return b;
}

/** The data region of a layout: its files in data order. */
function layoutRegion(L: IsoLayout): DataRegion {
  return dataRegion(
    L.files.map((f): DataItem =>
      f.data ? { size: f.size, data: f.data } : { size: f.size, path: f.sourcePath }
    ),
    SECTOR,
  );
}

/** The whole image in memory (sources on disk are read in). */
export function isoBytes(L: IsoLayout): Uint8Array {
  const out = new Uint8Array(L.totalSectors * SECTOR);
  out.set(metadataBytes(L));
  readDataRegionInto(layoutRegion(L), out.subarray(L.dataStart * SECTOR), SECTOR);
  return out;
}

export interface WriteIsoOptions {
  /** File mode at creation (default 0644; 0600 for a seed holding a private host key). */
  mode?: number;
  /** fsync the image and its directory (default true). */
  sync?: boolean;
}

/**
 * Write a laid-out image to `path` atomically (lib/files.ts): created with its final mode, so a
 * seed holding a private host key is never readable by others; nothing is left on failure.
 */
export function writeIsoFile(
  L: IsoLayout,
  path: string,
  opts: WriteIsoOptions = {},
): Promise<void> {
  return writeAtomicWith(path, (file) => {
    writeAllSync(file, metadataBytes(L));
    writeDataRegion(layoutRegion(L), file, SECTOR);
  }, {
    mode: opts.mode ?? 0o644,
    sync: opts.sync,
    failure: (err, created) => created ? writeFailed(path, err) : createFailed(path, err),
  });
}

/** A temp file that cannot be created: a missing directory is a diagnostic; others pass. */
function createFailed(path: string, err: unknown): unknown {
  if (!(isNotFound(err))) return err;
  return new Diagnostic("vmctl::iso::no_output_dir", `directory ${dirname(path)} does not exist`, {
    hint: "create it first, or choose another output path",
    cause: err,
  });
}

/** I/O failures (disk full, target is a directory, ...) become diagnostics; others pass. */
function writeFailed(path: string, err: unknown): unknown {
  if (err instanceof Diagnostic || !(err instanceof Error) || isRuntimeRefusal(err)) return err;
  return new Diagnostic("vmctl::iso::write_failed", `cannot write ${path}: ${err.message}`, {
    hint: "check that the path is a writable file location with enough free space",
    cause: err,
  });
}
