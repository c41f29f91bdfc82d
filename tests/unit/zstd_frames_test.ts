/**
 * The zstd frame walker finds where each frame ends from the headers and
 * block sizes alone (RFC 8878 section 3.1), however the stream is chunked.
 * Frames here are built by hand from raw and RLE blocks, which are real zstd:
 * the integration tests feed frames made by the zstd CLI through the decoder.
 */
import { concatBytes } from "../../lib/bytes.ts";
import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { createZstdFrameWalker } from "../../lib/image/zstd_frames.ts";

const le = (v: number, n: number) =>
  Array.from({ length: n }, (_, i) => Math.floor(v / 256 ** i) & 0xff);

interface FrameOpts {
  /** Bytes of Frame_Content_Size: 0 (none), 1 (single segment only), 2, 4 or 8. */
  fcsBytes?: 0 | 1 | 2 | 4 | 8;
  checksum?: boolean;
  dictBytes?: 0 | 1 | 2 | 4;
  /** Split the content into raw blocks of this size. */
  blockSize?: number;
}

/** A zstd frame of raw blocks holding `content`. */
function rawFrame(content: Uint8Array, o: FrameOpts = {}): Uint8Array {
  const fcs = o.fcsBytes ?? 0;
  const single = fcs === 1;
  const fcsFlag = { 0: 0, 1: 0, 2: 1, 4: 2, 8: 3 }[fcs];
  const dictFlag = { 0: 0, 1: 1, 2: 2, 4: 3 }[o.dictBytes ?? 0];
  const fhd = (fcsFlag << 6) | (single ? 0x20 : 0) | (o.checksum ? 0x04 : 0) | dictFlag;
  const bytes = [0x28, 0xb5, 0x2f, 0xfd, fhd];
  if (!single) bytes.push(0x00); // Window_Descriptor
  bytes.push(...le(7, o.dictBytes ?? 0));
  bytes.push(...le(fcs === 2 ? content.length - 256 : content.length, fcs));
  const size = o.blockSize ?? Math.max(content.length, 1);
  for (let off = 0; off < content.length || off === 0; off += size) {
    const block = content.subarray(off, off + size);
    const last = off + size >= content.length ? 1 : 0;
    bytes.push(...le((block.length << 3) | last, 3), ...block); // type 0: raw
    if (content.length === 0) break;
  }
  if (o.checksum) bytes.push(1, 2, 3, 4);
  return new Uint8Array(bytes);
}

function skippableFrame(payload: number): Uint8Array {
  return new Uint8Array([0x53, 0x2a, 0x4d, 0x18, ...le(payload, 4), ...new Array(payload).fill(9)]);
}

/** Walk `stream` in `piece`-byte chunks; where frames end, with their content size (or "skip"). */
function walk(stream: Uint8Array, piece: number) {
  const w = createZstdFrameWalker();
  const ends: [number, number | "skip"][] = [];
  for (let start = 0; start < stream.length; start += piece) {
    const end = Math.min(stream.length, start + piece);
    for (let pos = start; pos < end;) {
      pos += w.scan(stream, pos, end);
      if (w.frameEnded) ends.push([pos, w.skippable ? "skip" : w.contentSize]);
    }
  }
  return { ends, inFrame: w.inFrame, frames: w.frames };
}

const content = new Uint8Array(1000).map((_, i) => i & 0xff);

Deno.test("each frame's end is found however the stream is chunked", () => {
  const a = rawFrame(content, { blockSize: 300 });
  const b = rawFrame(content.subarray(0, 10), { checksum: true, dictBytes: 2 });
  const stream = concatBytes([a, b]);
  for (const piece of [1, 2, 3, 7, 301, stream.length]) {
    assertEquals(walk(stream, piece), {
      ends: [[a.length, -1], [stream.length, -1]],
      inFrame: false,
      frames: 2,
    }, `piece ${piece}`);
  }
});

Deno.test("Frame_Content_Size is read in each of its widths (the 2-byte one is offset by 256)", () => {
  for (const fcsBytes of [1, 2, 4, 8] as const) {
    const c = fcsBytes === 1 ? content.subarray(0, 200) : content;
    const f = rawFrame(c, { fcsBytes });
    assertEquals(walk(f, 5).ends, [[f.length, c.length]], `${fcsBytes}-byte field`);
  }
});

Deno.test("a skippable frame is passed over and not counted as a frame", () => {
  const a = rawFrame(content);
  const stream = concatBytes([skippableFrame(5), a, skippableFrame(0)]);
  const r = walk(stream, 4);
  assertEquals(r.ends.map((e) => e[1]), ["skip", -1, "skip"]);
  assertEquals(r.frames, 1);
  assert(!r.inFrame);
});

Deno.test("an RLE block carries one byte, whatever size it regenerates to", () => {
  const rle = new Uint8Array([
    0x28,
    0xb5,
    0x2f,
    0xfd,
    0x00,
    0x00,
    ...le((4096 << 3) | (1 << 1) | 1, 3),
    0x61,
  ]);
  assertEquals(walk(rle, 1).ends, [[rle.length, -1]]);
});

Deno.test("a stream cut inside a frame leaves the walker inside it", () => {
  const f = rawFrame(content, { checksum: true });
  for (const cut of [1, 4, 5, 9, f.length - 1]) {
    const r = walk(f.subarray(0, cut), 3);
    assert(r.inFrame, `cut at ${cut}`);
    assertEquals(r.frames, 0);
  }
});

Deno.test("bytes that cannot be zstd are refused: bad magic, reserved bit, reserved block type", () => {
  const w = () => createZstdFrameWalker();
  assertThrows(() => w().scan(new Uint8Array([1, 2, 3, 4, 5]), 0, 5), Error, "not a zstd frame");
  const reservedBit = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x08, 0]);
  assertThrows(() => w().scan(reservedBit, 0, reservedBit.length), Error, "reserved bit");
  const reservedType = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0, ...le((3 << 1) | 1, 3)]);
  assertThrows(() => w().scan(reservedType, 0, reservedType.length), Error, "reserved block type");
});
