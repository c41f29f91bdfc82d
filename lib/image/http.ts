/**
 * A minimal HTTP/1.1 GET client over `Deno.connect` / `Deno.connectTls`, for
 * image downloads only. Deno's `fetch` body reads at roughly half of curl's
 * rate here (docs/benchmarks.md); reading the socket straight into the
 * caller's buffer does not have that overhead.
 *
 * Supports: http and https, Content-Length and chunked bodies, bodies ended
 * by connection close, redirects (up to 5). Proxies are not: when an
 * HTTP(S)_PROXY variable is set, callers use `fetch` instead
 * ({@link proxyConfigured}).
 *
 * @module
 */
import { env } from "../paths.ts";

/** A response whose body is read into caller-supplied buffers. */
export interface RawResponse {
  status: number;
  statusText: string;
  headers: Headers;
  /** Read body bytes into `buf`; null at the end of the body. */
  read(buf: Uint8Array): Promise<number | null>;
  close(): void;
}

/** True when a proxy variable is set (fetch honours them; this client does not). */
export function proxyConfigured(): boolean {
  return ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"]
    .some((v) => {
      try {
        return !!env(v);
      } catch {
        return false;
      }
    });
}

/** A server that sends nothing for this long is given up on (the part is kept for a resume). */
export const IDLE_TIMEOUT_MS = 60_000;

const enc = new TextEncoder();

/** `p`, or a TypeError after `ms` without it settling (then `onTimeout` cleans up). */
function idle<T>(p: Promise<T>, ms: number, onTimeout: () => void, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new TypeError(`no answer from the server for ${ms / 1000} s (${what})`));
    }, ms);
  });
  p.catch(() => {}); // it rejects once onTimeout closed the connection; that is expected
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
const dec = new TextDecoder();

/** GET `url` with `headers`, following redirects. */
export async function httpGet(
  url: string,
  headers: Record<string, string>,
  redirects = 5,
  idleTimeoutMs = IDLE_TIMEOUT_MS,
): Promise<RawResponse> {
  const u = new URL(url);
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new TypeError(`unsupported protocol ${u.protocol}`);
  }
  const tls = u.protocol === "https:";
  const port = Number(u.port || (tls ? 443 : 80));
  const hostname = u.hostname.replace(/^\[|\]$/g, "");
  const connecting: Promise<Deno.Conn> = tls
    ? Deno.connectTls({ hostname, port })
    : Deno.connect({ hostname, port });
  const conn: Deno.Conn = await idle(connecting, idleTimeoutMs, () => {
    connecting.then((c) => c.close(), () => {});
  }, `connecting to ${u.host}`);
  const reader = new ConnReader(conn, idleTimeoutMs);
  try {
    const lines = [
      `GET ${u.pathname}${u.search} HTTP/1.1`,
      `Host: ${u.host}`,
      "User-Agent: vmctl",
      "Accept: */*",
      "Connection: close",
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    if (lines.some((l) => /[\r\n]/.test(l))) throw new TypeError("header with a line break");
    await writeAll(conn, enc.encode(lines.join("\r\n") + "\r\n\r\n"));
    const statusLine = await reader.line();
    const m = statusLine.match(/^HTTP\/1\.[01] (\d{3}) ?(.*)$/);
    if (!m) throw new TypeError(`not an HTTP response: ${statusLine.slice(0, 80)}`);
    const h = new Headers();
    for (;;) {
      const l = await reader.line();
      if (l === "") break;
      const i = l.indexOf(":");
      if (i > 0) h.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
    }
    const status = Number(m[1]);
    const location = h.get("location");
    if ([301, 302, 303, 307, 308].includes(status) && location) {
      conn.close();
      if (redirects <= 0) throw new TypeError("too many redirects");
      return await httpGet(new URL(location, u).href, headers, redirects - 1, idleTimeoutMs);
    }
    return { status, statusText: m[2], headers: h, ...bodyReader(reader, h, conn) };
  } catch (err) {
    try {
      conn.close();
    } catch { /* closed */ }
    throw err;
  }
}

function bodyReader(r: ConnReader, h: Headers, conn: Deno.Conn) {
  const close = () => {
    try {
      conn.close();
    } catch { /* closed */ }
  };
  const te = h.get("transfer-encoding")?.toLowerCase() ?? "";
  if (te.includes("chunked")) {
    let left = 0;
    let done = false;
    return {
      close,
      async read(buf: Uint8Array): Promise<number | null> {
        if (done) return null;
        if (left === 0) {
          const size = parseInt((await r.line()).split(";")[0], 16);
          if (!Number.isFinite(size)) throw new TypeError("bad chunk size");
          if (size === 0) {
            while ((await r.line()) !== "") { /* trailers */ }
            done = true;
            return null;
          }
          left = size;
        }
        const n = await r.read(buf.subarray(0, Math.min(buf.length, left)));
        if (n === null) throw new TypeError("connection closed inside a chunk");
        left -= n;
        if (left === 0) await r.line(); // the CRLF after the chunk
        return n;
      },
    };
  }
  const len = h.get("content-length");
  let left = len === null ? Infinity : Number(len);
  return {
    close,
    async read(buf: Uint8Array): Promise<number | null> {
      if (left <= 0) return null;
      const n = await r.read(buf.subarray(0, Math.min(buf.length, left)));
      if (n === null) {
        if (left === Infinity) return null; // body ended by close
        throw new TypeError(`connection closed with ${left} bytes of the body missing`);
      }
      left -= n;
      return n;
    },
  };
}

/** Buffered reads from a connection: header lines, then raw body bytes. */
class ConnReader {
  #conn: Deno.Conn;
  #idleMs: number;
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;

  constructor(conn: Deno.Conn, idleMs: number) {
    this.#conn = conn;
    this.#idleMs = idleMs;
  }

  /** One socket read; a server silent for the idle timeout ends the connection. */
  #recv(out: Uint8Array): Promise<number | null> {
    return idle(this.#conn.read(out), this.#idleMs, () => {
      try {
        this.#conn.close();
      } catch { /* closed */ }
    }, "waiting for data");
  }

  /** One CRLF-terminated line (without the CRLF). */
  async line(): Promise<string> {
    for (;;) {
      const nl = this.#buf.subarray(this.#start, this.#end).indexOf(0x0a);
      if (nl >= 0) {
        const raw = this.#buf.subarray(this.#start, this.#start + nl);
        this.#start += nl + 1;
        return dec.decode(raw).replace(/\r$/, "");
      }
      if (this.#end - this.#start > 16 * 1024) throw new TypeError("HTTP header line too long");
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      const n = await this.#recv(this.#buf.subarray(this.#end));
      if (n === null) throw new TypeError("connection closed in the HTTP header");
      this.#end += n;
    }
  }

  /** Buffered bytes first, then straight from the socket into `out`. */
  async read(out: Uint8Array): Promise<number | null> {
    if (this.#start < this.#end) {
      const n = Math.min(out.length, this.#end - this.#start);
      out.set(this.#buf.subarray(this.#start, this.#start + n));
      this.#start += n;
      return n;
    }
    return await this.#recv(out);
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}
