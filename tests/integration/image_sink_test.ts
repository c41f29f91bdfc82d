/**
 * The download sink (lib/image/sink.ts): every byte reaches the part file
 * once and is hashed once, fresh or resumed; a failed write of the part or of
 * the decompressed image is a `vmctl::image::write_failed` diagnostic.
 */
import { join } from "node:path";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { Sink } from "../../lib/image/sink.ts";
import { assertEquals, assertRejects } from "../helpers/assert.ts";
import { sha256, testBytes, zstdCompress } from "./image_helpers.ts";
import { host } from "../../host/mod.ts";
import type { HostFile } from "../../host/mod.ts";

/** Push `data` in pieces of `piece` bytes (not a multiple of the sink's 1 MiB replay reads). */
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

/** Run `fn` with a sink over `raw`, then close the sink and `raw`. */
async function withSink(
  partPath: string,
  raw: HostFile,
  fn: (sink: Sink) => Promise<void>,
): Promise<void> {
  const sink = new Sink(partPath, raw);
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

Deno.test("a plain download is written and hashed, each byte once", async () => {
  await withPart(async (part) => {
    const body = testBytes(3 * 1024 * 1024 + 17, 3);
    const raw = await host.open(part, { create: true, write: true });
    await withSink(part, raw, async (sink) => {
      await pushAll(sink, body);
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

Deno.test("a download pushed in small pieces is written and hashed exactly", async () => {
  await withPart(async (part) => {
    const body = testBytes(300_000, 4);
    const raw = await host.open(part, { create: true, write: true });
    await withSink(part, raw, async (sink) => {
      await pushAll(sink, body, 70_000);
      assertEquals((await sink.end()).sourceSha256, await sha256(body));
      assertEquals(await Deno.readFile(part), body);
    });
  });
});

Deno.test("a resumed download hashes the bytes on disk without writing them again", async () => {
  await withPart(async (part) => {
    const body = testBytes(3 * 1024 * 1024, 5);
    const have = 1024 * 1024 + 5;
    await Deno.writeFile(part, body.subarray(0, have));
    const raw = await host.open(part, { write: true });
    await raw.seek(have);
    await withSink(part, raw, async (sink) => {
      await sink.replay(body.subarray(0, 4)); // fewer bytes than the compression check needs
      await sink.replay(body.subarray(4, have));
      await pushAll(sink, body.subarray(have));
      assertEquals((await sink.end()).sourceSha256, await sha256(body));
      assertEquals(await Deno.readFile(part), body);
    });
  });
});

Deno.test("every pushed byte is in the part file as soon as push returns", async () => {
  await withPart(async (part) => {
    const body = testBytes(5 * 1024 * 1024, 6);
    const raw = await host.open(part, { create: true, write: true });
    await withSink(part, raw, async (sink) => {
      await pushAll(sink, body);
      assertEquals(await Deno.readFile(part), body);
    });
  });
});

Deno.test("a failed write of the part is vmctl::image::write_failed", async () => {
  const full = await host.open("/dev/full", { write: true });
  await withSink("/dev/full", full, async (sink) => {
    await rejectsWrite(() => sink.push(testBytes(100)));
  });
});

Deno.test("a failed write of the part after a resumed start is vmctl::image::write_failed", async () => {
  const full = await host.open("/dev/full", { write: true });
  await withSink("/dev/full", full, async (sink) => {
    const body = testBytes(2 * 1024 * 1024);
    await sink.replay(body.subarray(0, 8)); // decided without writing
    await rejectsWrite(() => pushAll(sink, body.subarray(8)));
  });
});

Deno.test("a decompressed image that cannot be written is write_failed, not a corrupt archive", async () => {
  await withPart(async (part) => {
    await Deno.mkdir(`${part}.out/in-the-way`, { recursive: true });
    const packed = await zstdCompress(testBytes(200_000));
    const raw = await host.open(part, { create: true, write: true });
    await withSink(part, raw, async (sink) => {
      await rejectsWrite(async () => {
        await pushAll(sink, packed, 50_000);
        await sink.end();
      });
    });
  });
});
