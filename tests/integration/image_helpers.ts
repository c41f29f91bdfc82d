/**
 * A real HTTP server on 127.0.0.1 for the image tests: serves byte arrays
 * with Range support, counts requests, can throttle (so a client can be
 * killed mid-transfer) and can lie about Content-Length (truncated bodies).
 *
 * @module
 */
import { join } from "node:path";
import { type DataPaths, pathsUnder } from "../../lib/paths.ts";

export interface Served {
  body: Uint8Array;
  /** Bytes per 10 ms tick (default: no throttling). */
  throttle?: number;
  /** Send only this many bytes but announce the full length, then close. */
  truncateAt?: number;
  /** Ignore Range headers. */
  noRanges?: boolean;
  /** Send no Content-Length (the server then uses chunked encoding). */
  chunked?: boolean;
  /** Answer 302 to this location instead of serving a body. */
  redirectTo?: string;
}

export interface TestServer {
  base: string;
  files: Map<string, Served>;
  /** Requests seen: path and Range header. */
  log: { path: string; range: string | null }[];
  close(): Promise<void>;
}

/** Start a server on a free loopback port. */
export function startServer(): TestServer {
  const files = new Map<string, Served>();
  const log: TestServer["log"] = [];
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      const path = new URL(req.url).pathname;
      const range = req.headers.get("range");
      log.push({ path, range });
      const f = files.get(path);
      if (!f) return new Response("not found", { status: 404 });
      if (f.redirectTo) {
        return new Response(null, { status: 302, headers: { location: f.redirectTo } });
      }
      let start = 0;
      const m = range?.match(/^bytes=(\d+)-$/);
      if (m && !f.noRanges) start = Number(m[1]);
      if (start > f.body.length) return new Response(null, { status: 416 });
      const slice = f.body.subarray(start);
      const headers: Record<string, string> = {
        "content-length": String(slice.length),
        "etag": `"v1-${f.body.length}"`,
        "accept-ranges": "bytes",
      };
      if (start > 0) {
        headers["content-range"] = `bytes ${start}-${f.body.length - 1}/${f.body.length}`;
      }
      return new Response(bodyStream(slice, f), { status: start > 0 ? 206 : 200, headers });
    },
  );
  const addr = server.addr as Deno.NetAddr;
  return {
    base: `http://127.0.0.1:${addr.port}`,
    files,
    log,
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}

function bodyStream(data: Uint8Array, f: Served): ReadableStream<Uint8Array> {
  let off = 0;
  const limit = f.truncateAt ?? data.length;
  return new ReadableStream({
    async pull(ctl) {
      if (off >= limit) {
        if (f.truncateAt !== undefined) ctl.error(new Error("truncated on purpose"));
        else ctl.close();
        return;
      }
      const n = Math.min(f.throttle ?? 256 * 1024, limit - off);
      if (f.throttle) await new Promise((r) => setTimeout(r, 10));
      ctl.enqueue(data.slice(off, off + n));
      off += n;
    },
  });
}

/** Deterministic pseudo-random bytes (incompressible enough, but reproducible). */
export function testBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Compress with the real zstd CLI. From a pipe it cannot know the size, so the frame header has no
 * Frame_Content_Size; with `contentSize` it compresses a file and the header has one.
 */
export async function zstdCompress(
  data: Uint8Array,
  opts: { contentSize?: boolean } = {},
): Promise<Uint8Array> {
  if (opts.contentSize) {
    const file = await Deno.makeTempFile({ prefix: "vmctl-zstd-" });
    try {
      await Deno.writeFile(file, data);
      const out = await new Deno.Command("zstd", { args: ["-q", "-c", "-3", file] }).output();
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
      return out.stdout;
    } finally {
      await Deno.remove(file);
    }
  }
  const child = new Deno.Command("zstd", {
    args: ["-q", "-c", "-3"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(data);
  await w.close();
  return (await child.output()).stdout;
}

export async function sha256(data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A throwaway data dir layout. */
export async function tempPaths(): Promise<{ root: string; paths: DataPaths }> {
  const root = await Deno.makeTempDir({ prefix: "vmctl-image-" });
  const dataDir = join(root, "vmctl");
  return {
    root,
    paths: pathsUnder(dataDir),
  };
}
