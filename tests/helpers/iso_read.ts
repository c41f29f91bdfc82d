/**
 * A small, independent ISO 9660 reader for tests: it decodes the bytes the
 * writer produced (descriptors, directory records, SUSP entries with CE
 * continuation, Joliet names) straight from the spec's offsets, without using
 * any of the writer's code.
 *
 * @module
 */
export const SECTOR = 2048;
const dec = new TextDecoder();

export function u16le(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
export function u16be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
export function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
export function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** A both-endian u32 at `o`; throws when the two copies disagree. */
export function both32(b: Uint8Array, o: number): number {
  const le = u32le(b, o);
  const be = u32be(b, o + 4);
  if (le !== be) throw new Error(`both-endian mismatch at ${o}: LE ${le} BE ${be}`);
  return le;
}
export function both16(b: Uint8Array, o: number): number {
  const le = u16le(b, o);
  const be = u16be(b, o + 2);
  if (le !== be) throw new Error(`both-endian mismatch at ${o}: LE ${le} BE ${be}`);
  return le;
}

export function ascii(b: Uint8Array, o: number, len: number): string {
  return dec.decode(b.subarray(o, o + len));
}

export function ucs2(b: Uint8Array, o: number, len: number): string {
  let s = "";
  for (let i = 0; i + 1 < len; i += 2) s += String.fromCharCode(u16be(b, o + i));
  return s;
}

export interface SuEntry {
  sig: string;
  /** The whole entry, header included. */
  bytes: Uint8Array;
}

export interface Record {
  offset: number;
  length: number;
  lba: number;
  size: number;
  flags: number;
  id: Uint8Array;
  /** System use entries, continuation areas followed. */
  su: SuEntry[];
}

/** Parse SUSP entries of `area`, following CE entries into `img`. */
export function parseSu(img: Uint8Array, area: Uint8Array, hops = 0): SuEntry[] {
  const out: SuEntry[] = [];
  let p = 0;
  while (p + 4 <= area.length) {
    const sig = ascii(area, p, 2);
    const len = area[p + 2];
    if (len < 4 || sig === "\0\0") break;
    const bytes = area.subarray(p, p + len);
    out.push({ sig, bytes });
    if (sig === "CE") {
      if (hops > 32) throw new Error("CE loop");
      const lba = both32(bytes, 4);
      const off = both32(bytes, 12);
      const n = both32(bytes, 20);
      if (off + n > SECTOR) throw new Error("CE area crosses a block");
      out.push(...parseSu(img, img.subarray(lba * SECTOR + off, lba * SECTOR + off + n), hops + 1));
    }
    p += len;
  }
  return out;
}

/** All records of the directory at `lba` (`size` bytes); throws on a record crossing a sector. */
export function readDirectory(img: Uint8Array, lba: number, size: number, rr: boolean): Record[] {
  const out: Record[] = [];
  const base = lba * SECTOR;
  let p = 0;
  while (p < size) {
    const len = img[base + p];
    if (len === 0) {
      p = (Math.floor(p / SECTOR) + 1) * SECTOR;
      continue;
    }
    if ((p % SECTOR) + len > SECTOR) throw new Error(`record at ${base + p} crosses a sector`);
    const r = img.subarray(base + p, base + p + len);
    const idLen = r[32];
    const suStart = 33 + idLen + ((idLen & 1) ^ 1);
    out.push({
      offset: base + p,
      length: len,
      lba: both32(r, 2),
      size: both32(r, 10),
      flags: r[25],
      id: r.slice(33, 33 + idLen),
      su: rr ? parseSu(img, r.subarray(suStart, len)) : [],
    });
    p += len;
  }
  return out;
}

/** The Rock Ridge name of a record (NM pieces joined), or undefined. */
export function rrName(r: Record): string | undefined {
  const parts = r.su.filter((e) => e.sig === "NM");
  if (!parts.length) return undefined;
  const bytes: number[] = [];
  for (const e of parts) bytes.push(...e.bytes.subarray(5));
  return dec.decode(new Uint8Array(bytes));
}

export type Tree = "iso" | "joliet" | "rr";

export interface TreeFile {
  path: string;
  dir: boolean;
  lba: number;
  size: number;
  record: Record;
}

/** Every entry of one tree, by path (`a/b`), depth-first in directory order. */
export function listTree(img: Uint8Array, tree: Tree): TreeFile[] {
  const vd = (tree === "joliet" ? 17 : 16) * SECTOR;
  const root = img.subarray(vd + 156, vd + 190);
  const out: TreeFile[] = [];
  const walk = (lba: number, size: number, prefix: string) => {
    const recs = readDirectory(img, lba, size, tree === "rr");
    for (const r of recs.slice(2)) {
      const name = tree === "joliet"
        ? ucs2(r.id, 0, r.id.length)
        : tree === "rr"
        ? rrName(r) ?? "<no NM>"
        : ascii(r.id, 0, r.id.length);
      const path = prefix ? `${prefix}/${name}` : name;
      const dir = (r.flags & 2) !== 0;
      out.push({ path, dir, lba: r.lba, size: r.size, record: r });
      if (dir) walk(r.lba, r.size, path);
    }
  };
  walk(both32(root, 2), both32(root, 10), "");
  return out;
}

/** The bytes of a file entry. */
export function fileBytes(img: Uint8Array, f: TreeFile): Uint8Array {
  return img.subarray(f.lba * SECTOR, f.lba * SECTOR + f.size);
}

/** Path → contents for every file of a tree. */
export function readFiles(img: Uint8Array, tree: Tree = "rr"): Map<string, Uint8Array> {
  return new Map(listTree(img, tree).filter((f) => !f.dir).map((f) => [f.path, fileBytes(img, f)]));
}
