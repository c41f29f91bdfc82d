/**
 * Room for an image's metadata, known before its names are: an upper bound on
 * where `layoutIso` would put the file data, from the entries' paths alone.
 * It lets a large image copy its file data to the final place while the tree
 * is named, sorted and laid out (write.ts). Whether an image reserves room
 * depends on its input alone (not on the host or on threads), so the same
 * entries always give the same bytes. Every record is sized for the
 * longest level-1 identifier its kind can get (`NAME8.EXT;1`, `DIRNAME8`),
 * and each directory's sectors are bounded for records packed in any order.
 *
 * @module
 */
import { SECTOR, sectorsFor } from "./encode.ts";
import { DOT_LEN, even, type IsoEntry, MAX_RECORD, ROOT_DOT_LEN } from "./layout.ts";
import { CE_LEN, ER_LEN, nmLen, PX_LEN, TF_LEN } from "./susp.ts";

/** Record bytes one directory needs in a tree: their sum and the longest. */
export interface Records {
  total: number;
  longest: number;
}

interface DirRoom {
  iso: Records;
  /** The directory's Rock Ridge continuation areas (the root's ER, names that spill). */
  ce: Records;
  joliet: Records;
}

/** Longest ISO record base (33 bytes, identifier, pad) for a file and a directory. */
const FILE_BASE = 33 + 14 + 1; // NAME8.EXT;1 is 14 bytes
const DIR_BASE = 33 + 8 + 1;

const add = (r: Records, len: number) => {
  r.total += len;
  if (len > r.longest) r.longest = len;
};

/**
 * Sectors for records that never cross a sector, in any order: every sector but the last was
 * closed by a record that did not fit, so it holds more than SECTOR - longest bytes.
 */
export function packedSectors(r: Records): number {
  return r.total === 0 ? 0 : Math.floor((r.total - 1) / (SECTOR + 1 - r.longest)) + 1;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) (n += 4), i++; // a surrogate pair (names are well formed)
    else n += 3;
  }
  return n;
}

/**
 * The most bytes an entry called `name` takes in its directory: its ISO record, its part of a
 * continuation area (0 when its Rock Ridge name always fits the record), its Joliet record.
 */
export function recordRoom(
  name: string,
  dir: boolean,
): { iso: number; ce: number; joliet: number } {
  const nm = utf8Length(name);
  const base = dir ? DIR_BASE : FILE_BASE;
  const inline = even(base + PX_LEN + TF_LEN + nmLen(nm));
  const joliet = 33 + 2 * name.length + 1;
  if (inline <= MAX_RECORD) return { iso: inline, ce: 0, joliet };
  // The head of the name stays in the record, at least this many bytes of it.
  const kept = MAX_RECORD - base - PX_LEN - TF_LEN - CE_LEN - nmLen(0);
  return { iso: MAX_RECORD, ce: nmLen(nm - kept), joliet };
}

/**
 * At least the sector where `layoutIso(entries)` starts the file data, for entries it accepts.
 * Linear in the entries; no names are built.
 */
export function dataStartBound(entries: IsoEntry[]): number {
  const dirs = new Map<string, DirRoom>();
  let isoTable = 10; // the root's path-table entries
  let jolietTable = 10;
  const child = (room: DirRoom, name: string, dir: boolean) => {
    const r = recordRoom(name, dir);
    add(room.iso, r.iso);
    if (r.ce > 0) add(room.ce, r.ce);
    add(room.joliet, r.joliet);
  };
  const dirRoom = (key: string): DirRoom => {
    let room = dirs.get(key);
    if (room) return room;
    room = {
      iso: { total: 2 * DOT_LEN, longest: DOT_LEN },
      ce: { total: 0, longest: 0 },
      joliet: { total: 2 * 34, longest: 34 },
    };
    dirs.set(key, room);
    if (key === "") {
      room.iso = { total: ROOT_DOT_LEN + DOT_LEN, longest: Math.max(ROOT_DOT_LEN, DOT_LEN) };
      add(room.ce, ER_LEN);
    } else {
      const slash = key.lastIndexOf("/");
      const name = key.slice(slash + 1);
      child(dirRoom(slash < 0 ? "" : key.slice(0, slash)), name, true);
      isoTable += 16;
      jolietTable += 8 + 2 * name.length;
    }
    return room;
  };
  dirRoom("");
  for (const e of entries) {
    if (e.directory) {
      dirRoom(e.path);
      continue;
    }
    const slash = e.path.lastIndexOf("/");
    child(dirRoom(slash < 0 ? "" : e.path.slice(0, slash)), e.path.slice(slash + 1), false);
  }
  const table = (size: number) => 2 * Math.max(1, sectorsFor(size));
  let sectors = 19 + table(isoTable) + table(jolietTable);
  for (const room of dirs.values()) {
    sectors += packedSectors(room.iso) + packedSectors(room.ce) + packedSectors(room.joliet);
  }
  return sectors;
}

/** Images whose files on disk hold at least this much reserve room for their metadata. */
export const RESERVE_MIN = 32 << 20;

/**
 * Where the file data of `entries` (sizes filled in) starts when the image reserves room for
 * its metadata ({@link dataStartBound}); undefined when it does not: the data follows the
 * metadata directly.
 */
export function reservedDataStart(entries: IsoEntry[]): number | undefined {
  let onDisk = 0;
  for (const e of entries) {
    if (e.data === undefined && e.sourcePath !== undefined) onDisk += e.size!;
  }
  return onDisk >= RESERVE_MIN ? dataStartBound(entries) : undefined;
}
