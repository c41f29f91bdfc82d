/**
 * The client of one VM's propolis-server (API 5.0.0, illumos-facts.md §7):
 * every request carries `api-version`, every error status and transport
 * failure becomes a diagnostic with a hint, and state changes are followed
 * through `/instance/state-monitor`.
 *
 * `fetch` does every request but one: the state monitor is a GET with a JSON
 * body (`{"gen": N}`), which fetch refuses to send, so that request is
 * written over a plain TCP connection (see {@link getWithBody}).
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { propolisHeaders } from "../../lib/propolis/api.ts";
import { sleep } from "../../lib/async.ts";
import { host } from "../../host/mod.ts";
import { concatBytes } from "../../lib/bytes.ts";

/** Instance states (illumos-facts.md §7.4). */
export type InstanceState =
  | "Creating"
  | "Starting"
  | "Running"
  | "Stopping"
  | "Stopped"
  | "Rebooting"
  | "Migrating"
  | "Repairing"
  | "Failed"
  | "Destroyed";

/** What `PUT /instance/state` asks for. */
export type StateRequest = "Run" | "Stop" | "Reboot";

/** One answer of the server. */
interface Reply {
  status: number;
  body: unknown;
}

/** How long one request may take (the state monitor's long poll has its own deadline). */
const REQUEST_TIMEOUT_MS = 30_000;

/** A client of the server at `server` (`ip:port`) that runs VM `vm`. */
export class PropolisClient {
  constructor(readonly server: string, readonly vm: string) {}

  url(path: string): string {
    return `http://${this.server}${path}`;
  }

  /** `GET /instance`: the instance's state, or null when the server has none yet (424). */
  async instanceState(): Promise<InstanceState | null> {
    const r = await this.send("GET", "/instance");
    if (r.status === 424) return null;
    this.expect(r, 200, "read the instance");
    return ((r.body as { instance?: { state?: InstanceState } }).instance?.state) ?? null;
  }

  /** Wait until the server answers at all (its zone is booting), or `timeoutMs` passes. */
  async waitUp(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.send("GET", "/instance");
        return;
      } catch (err) {
        if (!(err instanceof Diagnostic) || err.code !== UNREACHABLE || Date.now() > deadline) {
          throw err;
        }
      }
      await sleep(250);
    }
  }

  /** `PUT /instance`: create the instance from `body` (201). */
  async ensure(body: unknown): Promise<void> {
    this.expect(await this.send("PUT", "/instance", body), 201, "create the instance");
  }

  /** `PUT /instance/state` (204). */
  async requestState(state: StateRequest): Promise<void> {
    this.expect(await this.send("PUT", "/instance/state", state), 204, `ask it to ${state}`);
  }

  /**
   * Follow the state monitor until the instance is in one of `wanted`;
   * returns that state. A state in `fatal` ends the wait with it too.
   */
  async waitForState(
    wanted: InstanceState[],
    timeoutMs: number,
    fatal: InstanceState[] = [],
  ): Promise<InstanceState> {
    const deadline = Date.now() + timeoutMs;
    let gen = 0;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw this.stuck(wanted, timeoutMs);
      const r = await this.monitor(gen, left);
      if (r === "timeout") throw this.stuck(wanted, timeoutMs);
      if (wanted.includes(r.state) || fatal.includes(r.state)) return r.state;
      gen = r.gen + 1;
    }
  }

  private async monitor(
    gen: number,
    timeoutMs: number,
  ): Promise<{ gen: number; state: InstanceState } | "timeout"> {
    const signal = AbortSignal.timeout(timeoutMs);
    let r: Reply;
    try {
      r = await getWithBody(this.server, "/instance/state-monitor", { gen }, signal);
    } catch (err) {
      if (signal.aborted) return "timeout";
      throw this.unreachable(err);
    }
    if (r.status === 410) {
      // The instance is gone and will not change again: it is destroyed.
      return { gen, state: "Destroyed" };
    }
    this.expect(r, 200, "follow the instance's state");
    return r.body as { gen: number; state: InstanceState };
  }

  private async send(method: string, path: string, body?: unknown): Promise<Reply> {
    let res: Response;
    try {
      res = await fetch(this.url(path), {
        method,
        headers: propolisHeaders(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await res.text();
    return { status: res.status, body: parseJson(text) };
  }

  private expect(r: Reply, status: number, what: string): void {
    if (r.status !== status) throw this.httpError(r, what);
  }

  private unreachable(err: unknown): Diagnostic {
    return new Diagnostic(
      UNREACHABLE,
      `propolis-server of VM '${this.vm}' at ${this.server} does not answer (${
        err instanceof Error ? err.message : String(err)
      })`,
      {
        hint:
          `its zone runs it as SMF service site/vmctl/propolis-server: see \`svcs -xv -z vmctl-${this.vm}\` and the service log`,
      },
    );
  }

  private stuck(wanted: InstanceState[], timeoutMs: number): Diagnostic {
    return new Diagnostic(
      "vmctl::propolis::timeout",
      `VM '${this.vm}' did not reach ${wanted.join(" or ")} within ${
        Math.round(timeoutMs / 1000)
      } s`,
      {
        hint:
          `its state now: \`vmctl status ${this.vm}\`; the guest's console: \`vmctl log ${this.vm} --console\``,
      },
    );
  }

  private httpError(r: Reply, what: string): Diagnostic {
    const e = (r.body ?? {}) as { message?: string; error_code?: string };
    const said = [e.message, e.error_code].filter(Boolean).join(": ") || `HTTP ${r.status}`;
    const [code, hint] = STATUS_MEANING[r.status] ?? [
      "vmctl::propolis::http_error",
      "the server's log in the VM's zone says more",
    ];
    return new Diagnostic(
      code,
      `propolis-server of VM '${this.vm}' refused to ${what} (${r.status}: ${said})`,
      { hint: hint.replaceAll("NAME", this.vm) },
    );
  }
}

const UNREACHABLE = "vmctl::propolis::unreachable";

/** What each error status of the API means for the user (illumos-facts.md §7.5). */
const STATUS_MEANING: Record<number, [string, string]> = {
  400: [
    "vmctl::propolis::bad_request",
    "the server rejected what vmctl sent: check that propolis-server speaks API 5.0.0 (docs/propolis.md)",
  ],
  403: [
    "vmctl::propolis::state_forbidden",
    "the instance cannot change that way now; `vmctl stop NAME` then `vmctl start NAME` brings up a new one",
  ],
  409: [
    "vmctl::propolis::already_initialized",
    "the server already has an instance; `vmctl stop NAME` then `vmctl start NAME` starts a fresh server",
  ],
  410: [
    "vmctl::propolis::instance_gone",
    "the instance is gone; `vmctl start NAME` brings up a new one",
  ],
  424: [
    "vmctl::propolis::no_instance",
    "the server has no instance: it restarted; `vmctl stop NAME` then `vmctl start NAME`",
  ],
  500: [
    "vmctl::propolis::server_error",
    "propolis-server failed internally; its log in the VM's zone (svcs -L) says why",
  ],
  503: [
    "vmctl::propolis::initializing",
    "the instance is still being created; try again in a moment",
  ],
};

function parseJson(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 200) };
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * One HTTP/1.1 GET with a JSON body over a new TCP connection
 * (`Connection: close`), ended by `signal`. Reads a `Content-Length` or
 * chunked reply.
 */
export async function getWithBody(
  server: string,
  path: string,
  body: unknown,
  signal: AbortSignal,
): Promise<Reply> {
  const { hostname, port } = splitHostPort(server);
  const payload = enc.encode(JSON.stringify(body));
  const head = [
    `GET ${path} HTTP/1.1`,
    `Host: ${server}`,
    ...Object.entries(propolisHeaders(true)).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${payload.length}`,
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  signal.throwIfAborted();
  const conn = await host.connectTcp(hostname, port);
  const onAbort = () => conn.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await writeAll(conn, enc.encode(head));
    await writeAll(conn, payload);
    return parseReply(await readAll(conn));
  } finally {
    signal.removeEventListener("abort", onAbort);
    try {
      conn.close();
    } catch { /* closed by the abort */ }
  }
}

function splitHostPort(server: string): { hostname: string; port: number } {
  const m = server.match(/^\[?([^\]]+?)\]?:(\d+)$/);
  if (!m) throw new Error(`not an address:port: ${server}`);
  return { hostname: m[1], port: Number(m[2]) };
}

async function writeAll(conn: { write(d: Uint8Array): Promise<number> }, data: Uint8Array) {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

async function readAll(conn: { read(b: Uint8Array): Promise<number | null> }) {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
  }
  return concatBytes(parts);
}

/** Status and JSON body of a complete HTTP/1.1 reply. */
export function parseReply(raw: Uint8Array): Reply {
  // One character per byte, so indices in `text` are byte offsets in `raw`.
  const text = bytewise.decode(raw);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new Error("incomplete HTTP reply");
  const [statusLine, ...headerLines] = text.slice(0, end).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const chunked = headerLines.some((l) => /^transfer-encoding:\s*chunked\s*$/i.test(l));
  const body = raw.subarray(end + 4);
  return { status, body: parseJson(dec.decode(chunked ? unchunk(body, text, end + 4) : body)) };
}

const bytewise = new TextDecoder("latin1");

/** The data of a chunked body starting at byte `start` of the reply (`text` is its bytewise view). */
function unchunk(body: Uint8Array, text: string, start: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = start;;) {
    const lineEnd = text.indexOf("\r\n", i);
    if (lineEnd < 0) break;
    const size = parseInt(text.slice(i, lineEnd), 16);
    if (!size) break;
    parts.push(body.subarray(lineEnd + 2 - start, lineEnd + 2 - start + size));
    i = lineEnd + 2 + size + 2;
  }
  return concatBytes(parts);
}
