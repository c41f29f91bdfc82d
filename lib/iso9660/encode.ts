/**
 * Field encoders for ECMA-119 structures: both-endian integers (7.2.3 and
 * 7.3.3), padded ASCII and UCS-2 strings, and the two date formats. Every
 * function writes into a caller-owned buffer at an absolute offset, so the
 * writer can build whole sectors without intermediate arrays.
 *
 * @module
 */

/** Size of a logical sector and block (the only size every reader accepts). */
export const SECTOR = 2048;

/** Number of sectors needed for `bytes` bytes. */
export function sectorsFor(bytes: number): number {
  return Math.ceil(bytes / SECTOR);
}

/** 7.3.3: u32 little-endian then big-endian (8 bytes). */
export function both32(b: Uint8Array, off: number, v: number): void {
  le32(b, off, v);
  be32(b, off + 4, v);
}

/** 7.2.3: u16 little-endian then big-endian (4 bytes). */
export function both16(b: Uint8Array, off: number, v: number): void {
  le16(b, off, v);
  be16(b, off + 2, v);
}

export function le32(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
  b[off + 2] = (v >>> 16) & 0xff;
  b[off + 3] = (v >>> 24) & 0xff;
}

export function be32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

export function le16(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
  b[off + 1] = (v >>> 8) & 0xff;
}

export function be16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

/** ASCII text padded with spaces to `len` bytes (the caller validated the characters). */
export function asciiField(b: Uint8Array, off: number, len: number, text: string): void {
  for (let i = 0; i < len; i++) b[off + i] = i < text.length ? text.charCodeAt(i) : 0x20;
}

/**
 * UCS-2 big-endian text padded with UCS-2 spaces (00 20). An odd `len` leaves
 * the last byte 0, as genisoimage and xorriso do for the 37-byte file ids.
 * blkid reports this volume id as the label, so ASCII-space padding would be a bug.
 */
export function ucs2Field(b: Uint8Array, off: number, len: number, text: string): void {
  const chars = Math.floor(len / 2);
  for (let i = 0; i < chars; i++) be16(b, off + 2 * i, i < text.length ? text.charCodeAt(i) : 0x20);
  if (len % 2) b[off + len - 1] = 0;
}

const utf8 = new TextEncoder();

/** UTF-8 bytes of `text`; names are mostly ASCII, which a plain loop converts fastest. */
export function utf8Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return utf8.encode(text);
    out[i] = c;
  }
  return out;
}

/** UCS-2 big-endian bytes of `text` (no padding), for Joliet identifiers. */
export function ucs2Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 2);
  for (let i = 0; i < text.length; i++) be16(out, 2 * i, text.charCodeAt(i));
  return out;
}

const two = (n: number) => String(n).padStart(2, "0");

/**
 * 8.4.26.1: 17-byte volume date `YYYYMMDDHHMMSScc` + GMT offset byte, in UTC.
 * `null` writes the "not specified" form (16 ASCII zeros, offset 0).
 */
export function volumeDate(b: Uint8Array, off: number, d: Date | null): void {
  const text = d === null ? "0".repeat(16) : String(d.getUTCFullYear()).padStart(4, "0") +
    two(d.getUTCMonth() + 1) + two(d.getUTCDate()) + two(d.getUTCHours()) +
    two(d.getUTCMinutes()) + two(d.getUTCSeconds()) + two(Math.floor(d.getUTCMilliseconds() / 10));
  for (let i = 0; i < 16; i++) b[off + i] = text.charCodeAt(i);
  b[off + 16] = 0;
}

// An image has one timestamp, written four times per directory record (record date and
// three TF stamps): its bytes are computed once per distinct time, not with six Date calls each.
let lastTime = NaN;
const lastBytes = new Uint8Array(7);

/** 9.1.5: 7-byte directory-record date (years since 1900 ... seconds, GMT offset 0). */
export function recordDate(b: Uint8Array, off: number, d: Date): void {
  const t = d.getTime();
  if (t !== lastTime) {
    lastBytes[0] = d.getUTCFullYear() - 1900;
    lastBytes[1] = d.getUTCMonth() + 1;
    lastBytes[2] = d.getUTCDate();
    lastBytes[3] = d.getUTCHours();
    lastBytes[4] = d.getUTCMinutes();
    lastBytes[5] = d.getUTCSeconds();
    lastBytes[6] = 0;
    lastTime = t;
  }
  for (let i = 0; i < 7; i++) b[off + i] = lastBytes[i];
}
