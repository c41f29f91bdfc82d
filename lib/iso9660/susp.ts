/**
 * System Use Sharing Protocol (SUSP 1.10) and Rock Ridge (RRIP 1.10) entries,
 * the form genisoimage and xorriso write: SP, CE, ER `RRIP_1991A`, PX (36
 * bytes), TF (short form) and NM. Each writer puts one entry at `off` in a
 * caller-owned buffer and returns its length.
 *
 * @module
 */
import { both32, recordDate } from "./encode.ts";

export const SP_LEN = 7;
export const CE_LEN = 28;
export const PX_LEN = 36;
/** TF with modify, access and attribute-change stamps, 7 bytes each. */
export const TF_LEN = 5 + 3 * 7;

const ER_ID = "RRIP_1991A";
const ER_DESCRIPTOR =
  "THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
const ER_SOURCE = "PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  " +
  "SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";
/** The ER entry is 237 bytes: too long to sit in a directory record, so it goes in a CE area. */
export const ER_LEN = 8 + ER_ID.length + ER_DESCRIPTOR.length + ER_SOURCE.length;

/** Length of an NM entry holding `nameBytes` bytes. */
export function nmLen(nameBytes: number): number {
  return 5 + nameBytes;
}

function header(b: Uint8Array, off: number, sig: string, len: number): void {
  b[off] = sig.charCodeAt(0);
  b[off + 1] = sig.charCodeAt(1);
  b[off + 2] = len;
  b[off + 3] = 1;
}

/** SP: "this volume uses SUSP"; must open the root `.` record's system use area. */
export function writeSP(b: Uint8Array, off: number): number {
  header(b, off, "SP", SP_LEN);
  b[off + 4] = 0xbe;
  b[off + 5] = 0xef;
  b[off + 6] = 0; // LEN_SKP
  return SP_LEN;
}

/** CE: the rest of this record's entries are at `lba`:`offset`, `length` bytes. */
export function writeCE(b: Uint8Array, off: number, lba: number, offset: number, length: number) {
  header(b, off, "CE", CE_LEN);
  both32(b, off + 4, lba);
  both32(b, off + 12, offset);
  both32(b, off + 20, length);
  return CE_LEN;
}

/** ER naming RRIP 1.10; its presence makes Linux and the BSDs trust the Rock Ridge names. */
export function writeER(b: Uint8Array, off: number): number {
  header(b, off, "ER", ER_LEN);
  b[off + 4] = ER_ID.length;
  b[off + 5] = ER_DESCRIPTOR.length;
  b[off + 6] = ER_SOURCE.length;
  b[off + 7] = 1;
  let p = off + 8;
  for (const s of [ER_ID, ER_DESCRIPTOR, ER_SOURCE]) {
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
  }
  return ER_LEN;
}

/** PX: POSIX mode (with the file type bits), link count, uid 0, gid 0. */
export function writePX(b: Uint8Array, off: number, mode: number, nlink: number): number {
  header(b, off, "PX", PX_LEN);
  both32(b, off + 4, mode);
  both32(b, off + 12, nlink);
  both32(b, off + 20, 0);
  both32(b, off + 28, 0);
  return PX_LEN;
}

/** TF: modify, access and attribute-change times, all `date`. */
export function writeTF(b: Uint8Array, off: number, date: Date): number {
  header(b, off, "TF", TF_LEN);
  b[off + 4] = 0x02 | 0x04 | 0x08;
  for (let i = 0; i < 3; i++) recordDate(b, off + 5 + 7 * i, date);
  return TF_LEN;
}

/** NM flag: the name continues in the next NM entry. */
export const NM_CONTINUE = 0x01;

/** NM: the real name (UTF-8), or a piece of it when `flags` is {@link NM_CONTINUE}. */
export function writeNM(b: Uint8Array, off: number, name: Uint8Array, flags = 0): number {
  const len = nmLen(name.length);
  header(b, off, "NM", len);
  b[off + 4] = flags;
  b.set(name, off + 5);
  return len;
}
