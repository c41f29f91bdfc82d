/**
 * The download sink (lib/image/sink.ts): every byte reaches the part file
 * once and is hashed once, on one thread or two, fresh or resumed; a failed
 * write is a `vmctl::image::write_failed` diagnostic from either thread.
 */
import { join } from "node:path";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { WORKER_MIN_BYTES } from "../../lib/image/part_writer.ts";
import { Sink } from "../../lib/image/sink.ts";
import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { sha256, testBytes, zstdCompress } from "./image_helpers.ts";

/** Push `data` in pieces of `piece` bytes (not a multiple of the 1 MiB worker buffers). */
async function pushAll(sink: Sink, data: Uint8Array, piece = 1024 * 1024 + 3): Promise<void> {
  for (let off = 0; off < data.length; off += piece) {
    await sink.push(data.subarray(off, off + piece));
  }
}

async function withPart(fn: (part: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-sink-" });
  try {
    await fn(join(dir, "x.part"), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Run `fn` with a sink over `raw`, then stop its threads and close `raw`. */
async function withSink(
  partPath: string,
  raw: Deno.FsFile,
  expectedBytes: number | null,
  fn: (sink: Sink) => Promise<void>,
): Promise<void> {
  const sink = new Sink(partPath, raw, expectedBytes);
  try {
    await fn(sink);
  } finally {
    sink.dispose();
    raw.close();
  }
}

async function rejectsWrite(fn: () => Promise<unknown>): Promise<void> {
  const e = await assertRejects(fn, Diagnostic);
  assertEquals(e.code, "vmctl::image::write_failed", e.message);
}

Deno.test("a large plain download is written and hashed on a second thread, each byte once", async () => {
  await withPart(async (part) => {
    const body = testBytes(3 * 1024 * 1024 + 17, 3);
    const raw = await Deno.open(part, { create: true, write: true });
    await withSink(part, raw, WORKER_MIN_BYTES, async (sink) => {
      await pushAll(sink, body);
      assert(sink.threaded, "a large plain download uses the writer thread");
      const out = await sink.end();
      assertEquals(out, {
        file: part,
        size: body.length,
        compression: "none",
        sourceSha256: await sha256(body),
      });
      assertEquals(await Deno.readFile(part), body);
    });
  });
});

Deno.test("a small plain download is written and hashed on the calling thread", async () => {
  await withPart(async (part) => {
    const body = testBytes(300_000, 4);
    const raw = await Deno.open(part, { create: true, write: true });
    await withSink(part, raw, body.length, async (sink) => {
      await pushAll(sink, body, 70_000);
      assert(!sink.threaded);
      assertEquals((await sink.end()).sourceSha256, await sha256(body));
      assertEquals(await Deno.readFile(part), body);
    });
  });
});

Deno.test("a resumed large download hashes the bytes on disk without writing them again", async () => {
  await withPart(async (part) => {
    const body = testBytes(3 * 1024 * 1024, 5);
    const have = 1024 * 1024 + 5;
    await Deno.writeFile(part, body.subarray(0, have));
    const raw = await Deno.open(part, { write: true });
    await raw.seek(have, Deno.SeekMode.Start);
    await withSink(part, raw, body.length + WORKER_MIN_BYTES, async (sink) => {
      await sink.replay(body.subarray(0, 4)); // fewer bytes than the compression check needs
      await sink.replay(body.subarray(4, have));
      await pushAll(sink, body.subarray(have));
      assert(sink.threaded);
      assertEquals((await sink.end()).sourceSha256, await sha256(body));
      assertEquals(await Deno.readFile(part), body);
    });
  });
});

Deno.test("drain returns once every pushed byte is in the part file", async () => {
  await withPart(async (part) => {
    const body = testBytes(5 * 1024 * 1024, 6);
    const raw = await Deno.open(part, { create: true, write: true });
    await withSink(part, raw, null, async (sink) => { // no Content-Length: treated as large
      await pushAll(sink, body);
      await sink.drain();
      assert(sink.threaded);
      assertEquals(await Deno.readFile(part), body);
    });
  });
});

Deno.test("a failed write of the part is vmctl::image::write_failed on the calling thread", async () => {
  const full = await Deno.open("/dev/full", { write: true });
  await withSink("/dev/full", full, 100, async (sink) => {
    await rejectsWrite(() => sink.push(testBytes(100)));
  });
});

Deno.test("a failed write of the part is vmctl::image::write_failed on the writer thread", async () => {
  const full = await Deno.open("/dev/full", { write: true });
  await withSink("/dev/full", full, WORKER_MIN_BYTES, async (sink) => {
    const body = testBytes(2 * 1024 * 1024);
    await sink.replay(body.subarray(0, 8)); // decided without writing: the next bytes go to the thread
    assert(sink.threaded);
    await rejectsWrite(async () => {
      await pushAll(sink, body.subarray(8));
      await sink.drain();
    });
  });
});

Deno.test("a decompressed image that cannot be written is write_failed, not a corrupt archive", async () => {
  await withPart(async (part) => {
    await Deno.mkdir(`${part}.out/in-the-way`, { recursive: true });
    const packed = await zstdCompress(testBytes(200_000));
    const raw = await Deno.open(part, { create: true, write: true });
    await withSink(part, raw, packed.length, async (sink) => {
      await rejectsWrite(async () => {
        await pushAll(sink, packed, 50_000);
        await sink.end();
      });
    });
  });
});
