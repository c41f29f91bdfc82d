/**
 * Where zstd frames begin and end in a byte stream, found without decoding
 * them (RFC 8878 section 3.1: every header field and block size is explicit).
 *
 * Deno's node:zlib zstd decoder stops at the end of the first frame and says
 * nothing: a `.zst` made of several frames (pzstd, `zstd --adapt` files joined
 * with cat, seekable zstd) would come out as its first frame only, and a file
 * cut inside a frame would come out short, also without an error. The
 * inflater (inflate.ts) walks the frames with this, hands each frame to a
 * decoder of its own (skippable ones too: the decoder passes over them),
 * checks each frame's decoded size against its Frame_Content_Size when the
 * header has one, and reports a stream that ends inside a frame.
 *
 * @module
 */

/** What the walker reports about the bytes it consumed in one {@link ZstdFrameWalker.scan}. */
export interface ZstdFrameWalker {
  /**
   * Consume bytes `buf[start..end)` up to the end of the current frame at most.
   * Returns how many were consumed; afterwards `frameEnded` tells whether a
   * frame ended with them.
   * Throws on bytes that cannot be zstd (bad magic, reserved bits or block type).
   */
  scan(buf: Uint8Array, start: number, end: number): number;
  /** The current (or just ended) frame is a skippable one; known once its magic is read. */
  readonly skippable: boolean;
  /** A frame ended with the last consumed byte. */
  readonly frameEnded: boolean;
  /** The current (or just ended) frame's Frame_Content_Size, or -1 when its header has none. */
  readonly contentSize: number;
  /** True between a frame's first byte and its last. */
  readonly inFrame: boolean;
  /** Frames (not skippable ones) that ended so far. */
  readonly frames: number;
}

/** A walker positioned before the first frame of a stream. */
export function createZstdFrameWalker(): ZstdFrameWalker {
  // States: what the next bytes are. Fixed-size fields are gathered in `field`
  // because any of them may straddle two chunks.
  const MAGIC = 0,
    HEADER = 1,
    BLOCK_HEADER = 2,
    BLOCK_BODY = 3,
    CHECKSUM = 4,
    SKIP_SIZE = 5,
    SKIP_BODY = 6;
  let state = MAGIC;
  let need = 4; // bytes of the current fixed-size field still missing, or of a body to pass over
  const field = new Uint8Array(14); // the largest field: a frame header after its magic
  let have = 0;
  let descriptor = -1; // Frame_Header_Descriptor of the current frame, once read
  let lastBlock = false;
  const w = {
    skippable: false,
    frameEnded: false,
    contentSize: -1,
    inFrame: false,
    frames: 0,
    scan(buf: Uint8Array, start: number, end: number): number {
      w.frameEnded = false;
      let pos = start;
      while (pos < end && !w.frameEnded) {
        if (state === BLOCK_BODY || state === SKIP_BODY) {
          const n = Math.min(need, end - pos);
          pos += n;
          need -= n;
          if (need === 0) {
            if (state === SKIP_BODY) endFrame();
            else afterBlock();
          }
          continue;
        }
        if (state === MAGIC && have === 0) {
          w.inFrame = true;
          w.skippable = false;
          w.contentSize = -1;
        }
        const n = Math.min(need, end - pos);
        field.set(buf.subarray(pos, pos + n), have);
        have += n;
        need -= n;
        pos += n;
        if (need === 0) fieldDone();
      }
      return pos - start;
    },
  };

  function startField(next: number, size: number): void {
    state = next;
    have = 0;
    need = size;
    if (size === 0) fieldDone();
  }

  /** After a block's body: the next block's header, or the frame's checksum (maybe 0 bytes). */
  function afterBlock(): void {
    if (lastBlock) startField(CHECKSUM, descriptor & 0x04 ? 4 : 0);
    else startField(BLOCK_HEADER, 3);
  }

  function endFrame(): void {
    if (!w.skippable) w.frames++;
    w.frameEnded = true;
    w.inFrame = false;
    descriptor = -1;
    startField(MAGIC, 4);
  }

  function le(from: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + field[from + i];
    return v;
  }

  function fieldDone(): void {
    if (state === MAGIC) {
      const magic = le(0, 4);
      if (magic === 0xfd2fb528) {
        startField(HEADER, 1); // the descriptor first; it says how long the rest is
      } else if ((magic & 0xfffffff0) === 0x184d2a50) {
        w.skippable = true;
        startField(SKIP_SIZE, 4);
      } else {
        throw new Error(`not a zstd frame (magic ${magic.toString(16).padStart(8, "0")})`);
      }
    } else if (state === HEADER && descriptor === -1) {
      descriptor = field[0];
      if (descriptor & 0x08) throw new Error("a zstd frame header sets a reserved bit");
      const single = (descriptor & 0x20) !== 0;
      const rest = (single ? 0 : 1) + [0, 1, 2, 4][descriptor & 0x03] + fcsSize();
      have = 1;
      need = rest;
      if (rest === 0) fieldDone();
    } else if (state === HEADER) {
      const fcs = fcsSize();
      w.contentSize = fcs === 0 ? -1 : le(have - fcs, fcs) + (fcs === 2 ? 256 : 0);
      startField(BLOCK_HEADER, 3);
    } else if (state === BLOCK_HEADER) {
      const h = le(0, 3);
      lastBlock = (h & 1) === 1;
      const type = (h >> 1) & 3;
      if (type === 3) throw new Error("a zstd block has the reserved block type");
      state = BLOCK_BODY;
      need = type === 1 ? 1 : h >>> 3; // an RLE block is one byte repeated
      if (need === 0) afterBlock();
    } else if (state === CHECKSUM) {
      endFrame();
    } else if (state === SKIP_SIZE) {
      state = SKIP_BODY;
      need = le(0, 4);
      if (need === 0) endFrame();
    }
  }

  function fcsSize(): number {
    const flag = descriptor >> 6;
    return flag === 0 ? ((descriptor & 0x20) !== 0 ? 1 : 0) : [0, 2, 4, 8][flag];
  }

  return w;
}
