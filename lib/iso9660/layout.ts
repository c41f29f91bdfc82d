/**
 * From a list of entries to a complete, validated layout: the directory tree,
 * the names in each of the three trees, the sorted record order, every
 * sector address and the volume size. Nothing is written here; the writer
 * (write.ts) serialises a layout without making any further decisions.
 *
 * Sector map: 0-15 system area (zeros), 16 PVD, 17 Joliet SVD, 18 terminator,
 * then the four path tables (ISO L, ISO M, Joliet L, Joliet M), the ISO
 * directories (each followed by its Rock Ridge continuation areas, if any),
 * the Joliet directories, and last the file data, so a sequential reader
 * meets all metadata first. Files are stored in the order of the entries
 * (not of a tree), so their places depend on sizes alone: a large image can
 * reserve the metadata's room (reserve.ts) and copy file data before the
 * names are decided; the reserved sectors the metadata does not use are zeros.
 *
 * @module
 */
import { SECTOR, sectorsFor, ucs2Bytes, utf8Bytes } from "./encode.ts";
import {
  assignIsoNames,
  compareIsoNames,
  compareJolietNames,
  isoIdentifier,
  type IsoName,
} from "./names.ts";
import { CE_LEN, ER_LEN, nmLen, PX_LEN, SP_LEN, TF_LEN } from "./susp.ts";
import { buildTree, isoError } from "./tree.ts";

export { buildTree, ISO_MAX_DEPTH, ISO_MAX_FILE_SIZE } from "./tree.ts";

/** One thing to put in the image. Parent directories are implied. */
export interface IsoEntry {
  /** Path inside the image, `/`-separated (`user-data`, `etc/app/conf`). */
  path: string;
  /** The contents, in memory. */
  data?: Uint8Array;
  /** Or a regular file on disk, streamed when the image is written. */
  sourcePath?: string;
  /** Size of `sourcePath` (stat it if absent). */
  size?: number;
  /** An explicitly listed (possibly empty) directory. */
  directory?: boolean;
  /** Permission bits Rock Ridge reports (default 0o444 for files, 0o555 for directories). */
  mode?: number;
}

export interface IsoOptions {
  /** Volume label in both descriptors: 1-16 of `A-Z a-z 0-9 _ -` (`cidata`). */
  volumeId: string;
  /** The one timestamp used everywhere in the image (default: {@link defaultTimestamp}). */
  timestamp: Date;
  /** Application id in both descriptors (default blank). */
  applicationId?: string;
}

interface NodeBase {
  name: string;
  parent: DirNode | null;
  mode: number;
  iso: IsoName;
  isoId: Uint8Array;
  jolietId: Uint8Array;
  /** Rock Ridge NM payload (the real name, UTF-8). */
  nm: Uint8Array;
  /** Length of this node's record in its parent's ISO / Joliet directory. */
  isoRecordLen: number;
  jolietRecordLen: number;
  /** When the NM entry did not fit in the record: the bytes kept inline... */
  nmInline?: number;
  /** ...and the CE area holding the rest of the name. */
  spill?: CeArea;
}

export interface FileNode extends NodeBase {
  kind: "file";
  size: number;
  data?: Uint8Array;
  sourcePath?: string;
  lba: number;
}

export interface DirNode extends NodeBase {
  kind: "dir";
  children: Node[];
  isoChildren: Node[];
  jolietChildren: Node[];
  depth: number;
  isoNumber: number;
  jolietNumber: number;
  isoLba: number;
  isoSectors: number;
  jolietLba: number;
  jolietSectors: number;
}

export type Node = FileNode | DirNode;

/** A Rock Ridge continuation area: `length` bytes at `lba`:`offset`. */
export interface CeArea {
  lba: number;
  offset: number;
  length: number;
}

export interface PathTable {
  size: number;
  lbaL: number;
  lbaM: number;
}

/** A finished layout: everything the writer needs. */
export interface IsoLayout {
  volumeId: string;
  applicationId: string;
  date: Date;
  root: DirNode;
  /** Directories in path-table order, per tree. */
  isoDirs: DirNode[];
  jolietDirs: DirNode[];
  /** Files in data order. */
  files: FileNode[];
  isoPathTable: PathTable;
  jolietPathTable: PathTable;
  /** The root's continuation area holding the ER entry. */
  rootCe: CeArea;
  /** First sector of file data; everything before it is metadata. */
  dataStart: number;
  totalSectors: number;
}

/** LEN_DR is one byte and must be even. */
const MAX_RECORD = 254;
export const ROOT_DOT_LEN = even(34 + SP_LEN + PX_LEN + TF_LEN + CE_LEN);
export const DOT_LEN = 34 + PX_LEN + TF_LEN;

/** Round up to an even length (directory records and system use areas). */
function even(n: number): number {
  return n + (n & 1);
}

/** Validate a volume label for both descriptors. */
export function validateVolumeId(id: string): void {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(id)) {
    throw isoError(
      "bad_volume_id",
      `invalid volume label ${JSON.stringify(id)}`,
      "use 1 to 16 characters from A-Z a-z 0-9 _ - (Joliet holds 16); cloud-init wants `cidata`",
    );
  }
}

/** Directories breadth-first, children in a tree's sort order: the path-table order. */
function pathTableOrder(root: DirNode, tree: "iso" | "joliet"): DirNode[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    const kids = tree === "iso" ? out[i].isoChildren : out[i].jolietChildren;
    for (const k of kids) if (k.kind === "dir") out.push(k);
  }
  if (out.length > 0xffff) {
    throw isoError("too_many_directories", `${out.length} directories`, "path tables hold 65535");
  }
  out.forEach((d, i) => (tree === "iso" ? (d.isoNumber = i + 1) : (d.jolietNumber = i + 1)));
  return out;
}

/** Records never cross a sector; returns each record's offset and the sector count. */
export function packRecords(lengths: number[]): { offsets: number[]; sectors: number } {
  const offsets: number[] = [];
  let pos = 0;
  for (const len of lengths) {
    if ((pos % SECTOR) + len > SECTOR) pos = Math.ceil(pos / SECTOR) * SECTOR;
    offsets.push(pos);
    pos += len;
  }
  return { offsets, sectors: sectorsFor(pos) };
}

function pathTableSize(dirs: DirNode[], tree: "iso" | "joliet"): number {
  let size = 0;
  for (const d of dirs) {
    const len = (tree === "iso" ? d.isoId : d.jolietId).length;
    size += 8 + len + (len & 1);
  }
  return size;
}

/** Compute the whole layout. Sizes of `sourcePath` entries must be filled in. */
export function layoutIso(entries: IsoEntry[], opts: IsoOptions): IsoLayout {
  validateVolumeId(opts.volumeId);
  const year = opts.timestamp.getUTCFullYear();
  if (!(year >= 1900 && year <= 2155)) {
    throw isoError(
      "bad_timestamp",
      `timestamp year ${year} cannot be stored`,
      "use a date in 1900..2155",
    );
  }
  if (opts.applicationId !== undefined && !/^[\x20-\x7e]{0,64}$/.test(opts.applicationId)) {
    throw isoError(
      "bad_application_id",
      `invalid application id ${JSON.stringify(opts.applicationId)}`,
      "use at most 64 printable ASCII characters",
    );
  }
  const { root, files } = buildTree(entries);
  const walk = (d: DirNode) => {
    const names = assignIsoNames(d.children.map((c) => ({ name: c.name, dir: c.kind === "dir" })));
    d.children.forEach((c, i) => {
      c.iso = names[i];
      c.isoId = utf8Bytes(isoIdentifier(names[i]));
      c.jolietId = ucs2Bytes(c.name);
      const base = 33 + c.isoId.length + ((c.isoId.length & 1) ^ 1);
      const inline = base + PX_LEN + TF_LEN + nmLen(c.nm.length);
      if (even(inline) <= MAX_RECORD) c.isoRecordLen = even(inline);
      else {
        // Like xorriso: the head of the name inline (NM CONTINUE), the rest in a CE area.
        // libarchive ignores a name that lives only in the continuation area.
        c.isoRecordLen = MAX_RECORD;
        c.nmInline = MAX_RECORD - base - PX_LEN - TF_LEN - CE_LEN - nmLen(0);
      }
      c.jolietRecordLen = 33 + c.jolietId.length + 1;
    });
    d.isoChildren = [...d.children].sort((a, b) => compareIsoNames(a.iso, b.iso));
    d.jolietChildren = [...d.children].sort((a, b) => compareJolietNames(a.name, b.name));
    for (const c of d.children) if (c.kind === "dir") walk(c);
  };
  walk(root);
  const isoDirs = pathTableOrder(root, "iso");
  const jolietDirs = pathTableOrder(root, "joliet");

  let lba = 19;
  const table = (dirs: DirNode[], tree: "iso" | "joliet"): PathTable => {
    const size = pathTableSize(dirs, tree);
    const n = Math.max(1, sectorsFor(size));
    const t = { size, lbaL: lba, lbaM: lba + n };
    lba += 2 * n;
    return t;
  };
  const isoPathTable = table(isoDirs, "iso");
  const jolietPathTable = table(jolietDirs, "joliet");
  let rootCe: CeArea | undefined;
  for (const d of isoDirs) {
    const lens = [
      d === root ? ROOT_DOT_LEN : DOT_LEN,
      DOT_LEN,
      ...d.isoChildren.map((c) => c.isoRecordLen),
    ];
    d.isoSectors = packRecords(lens).sectors;
    d.isoLba = lba;
    lba += d.isoSectors;
    // This directory's continuation areas follow it directly (the root's ER, then names too
    // long for their record): libarchive only reads a CE area that it meets right after the
    // directory it is reading, as xorriso's layout has it.
    const ceBase = lba;
    let cePos = 0;
    const area = (length: number): CeArea => {
      if ((cePos % SECTOR) + length > SECTOR) cePos = Math.ceil(cePos / SECTOR) * SECTOR;
      const a = { lba: ceBase + Math.floor(cePos / SECTOR), offset: cePos % SECTOR, length };
      cePos += length;
      return a;
    };
    if (d === root) rootCe = area(ER_LEN);
    for (const c of d.isoChildren) {
      if (c.nmInline !== undefined) c.spill = area(nmLen(c.nm.length - c.nmInline));
    }
    lba += sectorsFor(cePos);
  }
  for (const d of jolietDirs) {
    d.jolietSectors = packRecords([
      34,
      34,
      ...d.jolietChildren.map((c) => c.jolietRecordLen),
    ]).sectors;
    d.jolietLba = lba;
    lba += d.jolietSectors;
  }
  const dataStart = lba;
  for (const f of files) {
    if (f.size > 0) {
      f.lba = lba;
      lba += sectorsFor(f.size);
    }
  }
  // Empty files point at the end of the data, as genisoimage and xorriso do.
  for (const f of files) if (f.size === 0) f.lba = lba;
  return {
    volumeId: opts.volumeId,
    applicationId: opts.applicationId ?? "",
    date: opts.timestamp,
    root,
    isoDirs,
    jolietDirs,
    files,
    isoPathTable,
    jolietPathTable,
    rootCe: rootCe!,
    dataStart,
    totalSectors: lba,
  };
}
