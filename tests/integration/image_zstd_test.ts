/**
 * zstd images are decompressed completely or not at all: every frame of a
 * multi-frame file (pzstd, seekable zstd, files joined with cat), skippable
 * frames passed over, and a file cut inside a frame refused. Deno's own zstd
 * decoder silently stopped after the first frame and accepted cut files
 * (lib/image/zstd_frames.ts).
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { pullImage } from "../../lib/image/resolve.ts";
import { cacheLayout } from "../../lib/image/cache.ts";
import { concatBytes } from "../../lib/bytes.ts";
import { assertEquals, assertRejects } from "../helpers/assert.ts";
import { startServer, tempPaths, testBytes, zstdCompress } from "./image_helpers.ts";

/** A skippable frame (magic 0x184D2A5?) with `n` payload bytes. */
const skippable = (n: number) =>
  new Uint8Array([0x50, 0x2a, 0x4d, 0x18, n & 0xff, n >> 8, 0, 0, ...new Array(n).fill(0x55)]);

async function withServer(
  fn: (
    srv: ReturnType<typeof startServer>,
    paths: Awaited<ReturnType<typeof tempPaths>>["paths"],
  ) => Promise<void>,
): Promise<void> {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    await fn(srv, paths);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("every frame of a multi-frame zstd image is decompressed, skippable frames passed over", async () => {
  await withServer(async (srv, paths) => {
    const a = testBytes(3 * 1024 * 1024 + 17, 7);
    const b = testBytes(2 * 1024 * 1024, 8);
    const c = testBytes(5000, 9);
    const packed = concatBytes([
      await zstdCompress(a, { contentSize: true }),
      skippable(300),
      await zstdCompress(b),
      await zstdCompress(c, { contentSize: true }),
    ]);
    srv.files.set("/multi.img.zst", { body: packed });
    const r = await pullImage(`${srv.base}/multi.img.zst`, paths);
    assertEquals(r.entry.compression, "zstd");
    assertEquals(r.entry.size, a.length + b.length + c.length);
    assertEquals(await Deno.readFile(r.path), concatBytes([a, b, c]));
  });
});

Deno.test("a zstd image cut inside a frame fails and caches nothing", async () => {
  await withServer(async (srv, paths) => {
    const packed = await zstdCompress(testBytes(2 * 1024 * 1024, 4), { contentSize: true });
    srv.files.set("/cut.zst", { body: packed.subarray(0, packed.length - 1000) });
    const e = await assertRejects(() => pullImage(`${srv.base}/cut.zst`, paths), Diagnostic);
    assertEquals(e.code, "vmctl::image::corrupt_archive");
    assertEquals(e.message.includes("ends inside a frame"), true, e.message);
    assertEquals([...Deno.readDirSync(cacheLayout(paths).storeDir)], []);
    const left = [...Deno.readDirSync(cacheLayout(paths).partialDir)].map((e) => e.name);
    assertEquals(left.filter((n) => !n.endsWith(".lock")), [], "no part kept for a resume");
  });
});

Deno.test("a zstd frame that decodes to another size than its header says fails", async () => {
  await withServer(async (srv, paths) => {
    // One raw block of 100 bytes in a frame whose 4-byte Frame_Content_Size says 101.
    const body = testBytes(100, 2);
    const frame = new Uint8Array([
      0x28,
      0xb5,
      0x2f,
      0xfd,
      0x80,
      0x00,
      101,
      0,
      0,
      0,
      (100 << 3 | 1) & 0xff,
      100 >> 5,
      0,
      ...body,
    ]);
    srv.files.set("/liar.zst", { body: frame });
    const e = await assertRejects(() => pullImage(`${srv.base}/liar.zst`, paths), Diagnostic);
    assertEquals(e.code, "vmctl::image::corrupt_archive");
  });
});
