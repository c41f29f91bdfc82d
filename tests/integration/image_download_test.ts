/**
 * Image downloads against a real HTTP server on 127.0.0.1: resume after the
 * client is killed, checksums, HTTP errors, truncated bodies, zstd/gzip
 * streams, and one cached copy shared by every VM that names the URL.
 */
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { pullImage, resolveImage } from "../../lib/image/resolve.ts";
import { cacheLayout, readIndex } from "../../lib/image/cache.ts";
import { download } from "../../lib/image/download.ts";
import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { ROOT } from "../helpers/vmctl_cli.ts";
import { sha256, startServer, tempPaths, testBytes, zstdCompress } from "./image_helpers.ts";

async function rejectsWith(p: Promise<unknown>, code: string): Promise<Diagnostic> {
  const e = await assertRejects(() => p, Diagnostic);
  assertEquals(e.code, code, e.message);
  return e;
}

function listDir(p: string): string[] {
  try {
    return [...Deno.readDirSync(p)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

Deno.test("pull caches a plain image by content and names it after the URL", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const body = testBytes(3 * 1024 * 1024);
    srv.files.set("/images/debian.qcow2", { body });
    const r = await pullImage(`${srv.base}/images/debian.qcow2`, paths);
    assertEquals(r.downloaded, true);
    assertEquals(r.entry.name, "debian.qcow2");
    assertEquals(r.entry.sha256, await sha256(body));
    assertEquals(await Deno.readFile(r.path), body);
    assertEquals(await Deno.realPath(r.link), r.path);
    assertEquals((await Deno.stat(r.path)).mode! & 0o777, 0o600);
    assertEquals(listDir(cacheLayout(paths).partialDir).filter((n) => !n.endsWith(".lock")), []);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("two VMs naming the same URL share one cached download", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    srv.files.set("/a.img", { body: testBytes(1024 * 1024) });
    const url = `${srv.base}/a.img`;
    const [p1, p2] = [
      await resolveImage({ kind: "url", url }, paths),
      await resolveImage({ kind: "url", url }, paths),
    ];
    assertEquals(p1, p2);
    assertEquals(srv.log.filter((l) => l.path === "/a.img").length, 1);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a wrong sha256 is rejected and nothing is cached", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    srv.files.set("/a.img", { body: testBytes(512 * 1024) });
    const e = await rejectsWith(
      pullImage(`${srv.base}/a.img`, paths, { sha256: "0".repeat(64) }),
      "vmctl::image::checksum_mismatch",
    );
    assert(e.details.some((d) => d.includes("0".repeat(64))));
    const c = cacheLayout(paths);
    assertEquals(listDir(c.storeDir), []);
    assertEquals(listDir(c.partialDir).filter((n) => !n.endsWith(".lock")), []);
    assertEquals((await readIndex(c)).images, []);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the right sha256 of the bytes as served is accepted", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const body = testBytes(512 * 1024);
    srv.files.set("/a.img", { body });
    const r = await pullImage(`${srv.base}/a.img`, paths, { sha256: await sha256(body) });
    assertEquals(r.downloaded, true);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an HTTP 404 fails clearly and caches nothing", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const e = await rejectsWith(
      pullImage(`${srv.base}/missing.img`, paths),
      "vmctl::image::http_error",
    );
    assert(e.message.includes("404"));
    assertEquals(listDir(cacheLayout(paths).storeDir), []);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a truncated body fails, keeps the part, and the next pull resumes it", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const body = testBytes(2 * 1024 * 1024);
    srv.files.set("/t.img", { body, truncateAt: 1024 * 1024 });
    const url = `${srv.base}/t.img`;
    await rejectsWith(pullImage(url, paths), "vmctl::image::truncated");
    assertEquals(listDir(cacheLayout(paths).storeDir), []);
    srv.files.set("/t.img", { body });
    const r = await pullImage(url, paths);
    assertEquals(await Deno.readFile(r.path), body);
    assertEquals(srv.log.at(-1)!.range, `bytes=${1024 * 1024}-`);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a full answer to a Range request replaces the part (a shorter new file)", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    srv.files.set("/r.img", { body: testBytes(2 * 1024 * 1024), truncateAt: 1024 * 1024 + 7 });
    const url = `${srv.base}/r.img`;
    await rejectsWith(pullImage(url, paths), "vmctl::image::truncated");
    const body = testBytes(512 * 1024, 2); // the file changed on the server and is now shorter
    srv.files.set("/r.img", { body, noRanges: true });
    const r = await pullImage(url, paths);
    assertEquals(srv.log.at(-1)!.range, `bytes=${1024 * 1024 + 7}-`);
    assertEquals(await Deno.readFile(r.path), body);
    assertEquals(r.entry.sha256, await sha256(body));
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a download killed mid-transfer resumes with an HTTP Range request", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const body = testBytes(8 * 1024 * 1024, 7);
    const packed = await zstdCompress(body);
    srv.files.set("/slow.img.zst", { body: packed, throttle: 16 * 1024 });
    const url = `${srv.base}/slow.img.zst`;
    const script = join(root, "pull.ts");
    await Deno.writeTextFile(
      script,
      `import { pullImage } from ${JSON.stringify(join(ROOT, "lib/image/resolve.ts"))};\n` +
        `await pullImage(${JSON.stringify(url)}, ${JSON.stringify(paths)});\n`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", join(ROOT, "deno.json"), script],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const c = cacheLayout(paths);
    let size = 0;
    for (const deadline = Date.now() + 60_000; size < 256 * 1024 && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 50));
      const p = listDir(c.partialDir).find((n) => n.endsWith(".part"));
      size = p ? (await Deno.stat(join(c.partialDir, p))).size : 0;
    }
    child.kill("SIGKILL");
    await child.status;
    assert(size >= 256 * 1024 && size < packed.length, `part had ${size} bytes`);
    srv.files.set("/slow.img.zst", { body: packed });
    const r = await pullImage(url, paths);
    assertEquals(r.entry.name, "slow.img");
    assertEquals(r.entry.compression, "zstd");
    assertEquals(r.entry.sha256, await sha256(packed));
    assertEquals(await Deno.readFile(r.path), body);
    const resumed = srv.log.at(-1)!.range;
    assert(resumed && Number(resumed.match(/\d+/)![0]) >= size, `range ${resumed}`);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("zstd is detected by its magic bytes, not the URL suffix", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const body = testBytes(3 * 1024 * 1024, 3);
    srv.files.set("/noext", { body: await zstdCompress(body) });
    const r = await pullImage(`${srv.base}/noext`, paths);
    assertEquals(r.entry.compression, "zstd");
    assertEquals(await Deno.readFile(r.path), body);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("gzip streams are decompressed too", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const body = testBytes(1024 * 1024, 5);
    srv.files.set("/x.img.gz", { body: gzipSync(body) });
    const r = await pullImage(`${srv.base}/x.img.gz`, paths);
    assertEquals(r.entry.name, "x.img");
    assertEquals(await Deno.readFile(r.path), body);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

/** Pulling `body` as a .zst fails with `corrupt_archive`, and the cache's store stays empty. */
async function assertCorruptZstdCachesNothing(body: Uint8Array): Promise<void> {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    srv.files.set("/bad.zst", { body });
    await rejectsWith(pullImage(`${srv.base}/bad.zst`, paths), "vmctl::image::corrupt_archive");
    assertEquals(listDir(cacheLayout(paths).storeDir), []);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("a corrupt zstd stream fails and caches nothing", async () => {
  const packed = await zstdCompress(testBytes(1024 * 1024));
  packed.fill(0x41, 100, 4000);
  await assertCorruptZstdCachesNothing(packed);
});

Deno.test("a zstd frame whose checksum does not match is a corrupt archive, not a crash", async () => {
  const packed = await zstdCompress(new TextEncoder().encode("vmctl ".repeat(50_000)));
  packed[packed.length - 1] ^= 0xff;
  await assertCorruptZstdCachesNothing(packed);
});

Deno.test("a downloaded qcow2 that names a backing file is refused", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const img = join(root, "evil.qcow2");
    await new Deno.Command("qemu-img", {
      args: ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow", "-u", img, "1G"],
    }).output();
    srv.files.set("/evil.qcow2", { body: await Deno.readFile(img) });
    await rejectsWith(pullImage(`${srv.base}/evil.qcow2`, paths), "vmctl::image::has_backing_file");
    assertEquals(listDir(cacheLayout(paths).storeDir), []);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a bad URL or checksum is refused before any request", async () => {
  const { root, paths } = await tempPaths();
  try {
    await rejectsWith(pullImage("ftp://x/y.img", paths), "vmctl::image::bad_url");
    await rejectsWith(
      pullImage("http://127.0.0.1:9/y.img", paths, { sha256: "xyz" }),
      "vmctl::image::bad_sha256",
    );
    await rejectsWith(
      pullImage("http://127.0.0.1:9/y.img", paths, { name: "../etc" }),
      "vmctl::name::invalid",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a chunked body without Content-Length downloads completely", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const body = testBytes(2 * 1024 * 1024 + 17, 11);
    srv.files.set("/c.img", { body, chunked: true });
    const r = await pullImage(`${srv.base}/c.img`, paths);
    assertEquals(await Deno.readFile(r.path), body);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("redirects are followed and the image is keyed by the URL asked for", async () => {
  const srv = startServer();
  const { root, paths } = await tempPaths();
  try {
    const body = testBytes(300 * 1024, 13);
    srv.files.set("/latest.img", { body: new Uint8Array(), redirectTo: "/v2/real.img" });
    srv.files.set("/v2/real.img", { body });
    const r = await pullImage(`${srv.base}/latest.img`, paths);
    assertEquals(r.entry.url, `${srv.base}/latest.img`);
    assertEquals(await Deno.readFile(r.path), body);
  } finally {
    await srv.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a download through the fetch given in the options gives the same bytes", async () => {
  const srv = startServer();
  const dir = await Deno.makeTempDir();
  try {
    const body = testBytes(700 * 1024, 17);
    srv.files.set("/f.img", { body });
    const got = await download(`${srv.base}/f.img`, join(dir, "f.part"), { fetch });
    assertEquals(await Deno.readFile(got.file), body);
    assertEquals(got.sourceSha256, await sha256(body));
  } finally {
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Run `use` against a server on 127.0.0.1 that goes silent: it announces a
 * 100000-byte body and sends its first `sent` bytes, or with `sent` null never
 * answers at all. `use` gets the server's base URL and a temp dir.
 */
async function withSilentServer(
  sent: number | null,
  use: (base: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const server = (async () => {
    for await (const c of listener) {
      conns.push(c);
      if (sent === null) continue;
      await c.read(new Uint8Array(4096));
      await c.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"));
      await c.write(testBytes(sent));
    }
  })();
  try {
    await use(`http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`, dir);
  } finally {
    listener.close();
    await server.catch(() => {});
    for (const c of conns) c.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a server that stalls mid-body is given up on and the bytes so far are kept", () =>
  withSilentServer(1000, async (base, dir) => {
    const part = join(dir, "s.part");
    const t0 = Date.now();
    await rejectsWith(
      download(`${base}/s.img`, part, { idleTimeoutMs: 300 }),
      "vmctl::image::truncated",
    );
    assert(Date.now() - t0 < 5_000);
    assertEquals((await Deno.stat(part)).size, 1000);
  }));

Deno.test("an aborted download stops and keeps the bytes so far for a resume", () =>
  withSilentServer(1000, async (base, dir) => {
    const part = join(dir, "a.part");
    const stop = new AbortController();
    // The real fetch, with a tap that aborts once the first bytes of the body have arrived.
    const tapped: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const tap = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          out.enqueue(chunk);
          stop.abort();
        },
      });
      return new Response(res.body!.pipeThrough(tap), res);
    };
    const pull = download(`${base}/a.img`, part, { signal: stop.signal, fetch: tapped });
    await rejectsWith(pull, "vmctl::image::truncated");
    assertEquals((await Deno.stat(part)).size, 1000);
  }));

Deno.test("a server that never answers fails the pull instead of hanging", () =>
  withSilentServer(null, async (base, dir) => {
    const e = await rejectsWith(
      download(`${base}/x.img`, join(dir, "x.part"), { idleTimeoutMs: 300 }),
      "vmctl::image::fetch_failed",
    );
    assert(e.message.includes("no answer"), e.message);
  }));
