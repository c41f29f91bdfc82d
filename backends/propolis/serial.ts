/**
 * The serial console of a Propolis VM (illumos-facts.md §7.6): the live
 * console is the `/instance/serial` websocket (guest output in binary frames,
 * keystrokes sent as binary frames, JSON control messages in text frames);
 * the output the server keeps (`/instance/serial/history`) is copied into the
 * work dir's console log, each byte once.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { deadline } from "../../lib/async.ts";
import { appendDurably, withFileLock, writeAtomic } from "../../lib/files.ts";
import { dirname, join } from "../../lib/posix_path.ts";
import { VM_FILES } from "../../lib/vm_files.ts";
import { propolisHeaders } from "../../lib/propolis/api.ts";
import { host, isNotFound } from "../../host/mod.ts";
import { type ConsoleIo, type ConsoleLink, realIo, runConsoleSession } from "../console_session.ts";

/** How much recent output the console replays on attach, so the user sees where the guest is. */
export const CONSOLE_REPLAY_BYTES = 16 * 1024;

/** The most bytes asked of the history endpoint per request. */
export const HISTORY_PIECE_BYTES = 64 * 1024;

/**
 * How much recent output propolis-server keeps besides the first MiB
 * (its serial history buffer, history_buffer.rs TTY_BUFFER_SIZE): an offset
 * older than that is gone, and this much before the end is still there.
 */
export const SERVER_RECENT_BYTES = 1024 * 1024;

/** How long the websocket handshake may take before the server counts as not answering. */
const CONNECT_TIMEOUT_MS = 10_000;

/** How long one history request may take. */
const HISTORY_TIMEOUT_MS = 30_000;

/** The websocket URL to attach to: `url` with `most_recent` unless it names an offset itself. */
export function serialUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has("from_start") && !u.searchParams.has("most_recent")) {
    u.searchParams.set("most_recent", String(CONSOLE_REPLAY_BYTES));
  }
  return u.href;
}

/**
 * The platform's WebSocket. Deno and Node 22 have one (and both accept the
 * non-standard `{ headers }` init that carries `api-version`); Node 20 only
 * with --experimental-websocket.
 */
function webSocketClass(): typeof WebSocket {
  const ws = (globalThis as { WebSocket?: typeof WebSocket }).WebSocket;
  if (ws) return ws;
  throw new Diagnostic(
    "vmctl::console::websocket_unavailable",
    "this runtime has no WebSocket client, which the Propolis serial console needs",
    {
      hint:
        `run vmctl on Node 22 or newer, or on Node 20 with NODE_OPTIONS=--experimental-websocket (this is ${host.runtime} ${host.runtimeVersion})`,
    },
  );
}

/** Attach the terminal to the Propolis serial console at `url` until Ctrl+] or the server closes it. */
export async function attachSerial(url: string, io: ConsoleIo = realIo): Promise<void> {
  const WS = webSocketClass();
  const target = serialUrl(url);
  // Deno's and Node's (undici) WebSocket take headers in a second-argument init object.
  const init = { headers: propolisHeaders() } as unknown as string[];
  const ws = new WS(target, init);
  ws.binaryType = "arraybuffer";
  // Frames can arrive before the session starts listening: hold them until it does.
  const early: MessageEvent[] = [];
  ws.onmessage = (ev) => void early.push(ev);
  await opened(ws, target);
  const closed = { code: 0, reason: "" };
  const end = await runConsoleSession(websocketLink(ws, early, io, closed), target, io);
  if (end === "remote") {
    const why = closed.reason ? `: ${oneLine(closed.reason)}` : "";
    throw new Diagnostic(
      "vmctl::console::closed",
      `propolis-server closed the serial console (websocket code ${closed.code}${why})`,
      { hint: "the VM stopped or its propolis-server exited; `vmctl status` shows which" },
    );
  }
}

/** Resolve once `ws` is open; a failure or close before that is a diagnostic. */
async function opened(ws: WebSocket, url: string): Promise<void> {
  const ready = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (ev) => reject((ev as ErrorEvent).message ?? "websocket error");
    ws.onclose = (ev) => reject(`closed with code ${ev.code}`);
  });
  try {
    await deadline(ready, CONNECT_TIMEOUT_MS, { onTimeout: () => "no answer" });
  } catch (err) {
    ws.close();
    throw new Diagnostic(
      "vmctl::console::connect_failed",
      `cannot open the serial console at ${url} (${oneLine(String(err))})`,
      {
        hint:
          "propolis-server refused or did not answer: the VM is not running or its instance is not created yet (`vmctl status`, `vmctl start`)",
        cause: err,
      },
    );
  }
}

/**
 * The open websocket `ws` as a console link: the frames in `early` first;
 * `closed` receives the close code and reason.
 */
function websocketLink(
  ws: WebSocket,
  early: MessageEvent[],
  io: ConsoleIo,
  closed: { code: number; reason: string },
): ConsoleLink {
  return {
    pump(output) {
      return new Promise((resolve) => {
        let written = Promise.resolve();
        const onFrame = (ev: MessageEvent) => {
          if (typeof ev.data === "string") {
            io.notice(controlNotice(ev.data));
            return;
          }
          const bytes = new Uint8Array(ev.data as ArrayBuffer);
          written = written.then(() => output(bytes)).catch(() => ws.close());
        };
        for (const ev of early.splice(0)) onFrame(ev);
        ws.onmessage = onFrame;
        ws.onerror = () => {};
        ws.onclose = (ev) => {
          closed.code = ev.code;
          closed.reason = ev.reason;
          written.then(() => resolve());
        };
        if (ws.readyState === ws.CLOSED) written.then(() => resolve());
      });
    },
    send(bytes) {
      if (ws.readyState === ws.OPEN) ws.send(bytes);
      return Promise.resolve();
    },
    close: () => ws.close(),
  };
}

/** The one-line notice for a text frame (a JSON control message, e.g. `{"Migrating":…}`). */
export function controlNotice(text: string): string {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    msg = undefined;
  }
  const migrating = (msg as { Migrating?: { destination?: unknown } } | undefined)?.Migrating;
  const line = migrating
    ? `the VM is migrating to ${oneLine(String(migrating.destination ?? "another server"))}`
    : `control message from propolis-server: ${oneLine(text)}`;
  return `\r\n[vmctl] ${line}\r\n`;
}

/** `text` as one short line without control characters (it goes to a raw terminal). */
function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  const clean = text.replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/** Serial output read from the history endpoint. */
export interface SerialHistory {
  /** The bytes from the requested offset to the end of what the server holds. */
  bytes: Uint8Array;
  /** The server's offset just past the last byte returned (where the next read starts). */
  lastByteOffset: number;
  /**
   * Output between offsets `from` and `to` is no longer kept by the server
   * (it keeps the first and the newest output); it would stand at `at` in `bytes`.
   */
  skipped?: { from: number; to: number; at: number };
}

/**
 * Read the serial output of the propolis-server at `server` (`ip:port`) from
 * byte `fromStart` (counted since the instance started) to the end.
 */
export async function fetchSerialHistory(
  server: string,
  fromStart: number,
  signal?: AbortSignal,
): Promise<SerialHistory> {
  const pieces: Uint8Array[] = [];
  let offset = fromStart;
  let skipped: SerialHistory["skipped"];
  for (;;) {
    let start = offset;
    let piece = await historyPiece(server, offset, signal);
    if (piece === "expired") {
      // The server keeps the first and the most recent MiB; the offset fell between them.
      piece = await historyPiece(server, `most_recent=${SERVER_RECENT_BYTES}`, signal);
      if (piece === "expired") throw new Error("unreachable: a most_recent read never expires");
      start = piece.end - piece.data.length;
      skipped = { from: offset, to: start, at: pieces.reduce((n, p) => n + p.length, 0) };
    }
    if (piece.data.length === 0) {
      return { bytes: concat(pieces), lastByteOffset: piece.end, skipped };
    }
    if (piece.end !== start + piece.data.length) {
      throw historyError(server, 200, `last_byte_offset ${piece.end} does not follow ${start}`);
    }
    pieces.push(piece.data);
    offset = piece.end;
  }
}

/**
 * One history request from offset `from` (a number: bytes since the start; a
 * string: a `most_recent=N` query); "expired" when the server answers 400 to
 * a read from a non-zero offset (it no longer holds that offset).
 */
async function historyPiece(
  server: string,
  from: number | string,
  signal?: AbortSignal,
): Promise<{ data: Uint8Array; end: number } | "expired"> {
  const query = typeof from === "number" ? `from_start=${from}` : from;
  const url = `http://${server}/instance/serial/history?${query}&max_bytes=${HISTORY_PIECE_BYTES}`;
  const timeout = AbortSignal.timeout(HISTORY_TIMEOUT_MS);
  let res: Response;
  let body: unknown;
  try {
    res = await fetch(url, {
      headers: propolisHeaders(),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    body = await res.json().catch(() => undefined);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw new Diagnostic(
      "vmctl::propolis::unreachable",
      `cannot reach propolis-server at ${server}: ${oneLine(errorText(err))}`,
      {
        hint:
          "the VM's zone is not running or its propolis-server exited (`vmctl status`, `vmctl start`)",
        cause: err,
      },
    );
  }
  if (res.status === 400 && typeof from === "number" && from > 0) return "expired";
  if (!res.ok) throw historyError(server, res.status, errorMessage(body));
  const { data, last_byte_offset: end } = (body ?? {}) as {
    data?: unknown;
    last_byte_offset?: unknown;
  };
  if (!isByteArray(data) || !Number.isSafeInteger(end) || (end as number) < 0) {
    throw historyError(server, res.status, "the body is not a serial history response");
  }
  return { data: Uint8Array.from(data), end: end as number };
}

function historyError(server: string, status: number, detail: string): Diagnostic {
  if (status === 424) {
    return new Diagnostic(
      "vmctl::propolis::no_instance",
      `propolis-server at ${server} has no instance, so no serial output`,
      { hint: "the VM's server runs but the VM was never created on it: `vmctl start` creates it" },
    );
  }
  return new Diagnostic(
    "vmctl::propolis::serial_history_failed",
    `propolis-server at ${server} did not return the serial history (HTTP ${status}): ${
      oneLine(detail)
    }`,
    { hint: "the serial history is also saved when the VM stops; `vmctl log --console` shows it" },
  );
}

function isByteArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255);
}

function errorMessage(body: unknown): string {
  const msg = (body as { message?: unknown } | undefined)?.message;
  return typeof msg === "string" ? msg : "no error message";
}

function errorText(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return err instanceof Error ? `${err.message}${cause}` : String(err);
}

function concat(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What the offset file beside the console log records. */
interface CaptureMark {
  /** The server run the offset counts in (a new run counts from 0 again). */
  instance: string | null;
  /** The server's offset just past the last byte saved. */
  offset: number;
  /** The console log's length right after that byte was saved. */
  log_bytes: number;
}

/**
 * Append to the console log `logPath` the serial output of the server at
 * `server` that it does not hold yet, and return how many bytes were added.
 * The offset reached is kept beside the log ({@link VM_FILES}.consoleOffset),
 * with the log's length, so a capture cut short between the two is undone by
 * the next one instead of saving bytes twice. `instance` names the server run
 * (a restarted server counts from 0 again); a server that reports fewer bytes
 * than were saved is a new run too.
 */
export async function captureSerial(
  server: string,
  logPath: string,
  o: { instance?: string; signal?: AbortSignal } = {},
): Promise<number> {
  const dir = dirname(logPath);
  const markPath = join(dir, VM_FILES.consoleOffset);
  return await withFileLock(join(dir, VM_FILES.consoleCaptureLock), async () => {
    const mark = await readMark(markPath);
    const instance = o.instance ?? null;
    const sameRun = mark !== undefined && mark.instance === instance;
    let from = sameRun ? mark.offset : 0;
    let history = await fetchSerialHistory(server, from, o.signal);
    if (history.lastByteOffset < from) {
      from = 0;
      history = await fetchSerialHistory(server, 0, o.signal);
    }
    const added = withGapNote(history);
    const logBytes = await appendDurably(logPath, added, mark?.log_bytes);
    const next: CaptureMark = { instance, offset: history.lastByteOffset, log_bytes: logBytes };
    await writeAtomic(markPath, JSON.stringify(next) + "\n", { mode: 0o600 });
    return added.length;
  });
}

/** The bytes to append: the history, with a line where output the server no longer had was. */
function withGapNote(h: SerialHistory): Uint8Array {
  if (!h.skipped) return h.bytes;
  const { from, to, at } = h.skipped;
  const note = new TextEncoder().encode(
    `\n[vmctl] serial output bytes ${from}-${to} were no longer kept by propolis-server\n`,
  );
  return concat([h.bytes.subarray(0, at), note, h.bytes.subarray(at)]);
}

async function readMark(path: string): Promise<CaptureMark | undefined> {
  let text: string;
  try {
    text = await host.readTextFile(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  let m: Partial<CaptureMark> | null;
  try {
    m = JSON.parse(text);
  } catch {
    m = null;
  }
  if (!m || !Number.isSafeInteger(m.offset) || !Number.isSafeInteger(m.log_bytes)) {
    throw new Diagnostic("vmctl::console::bad_offset_file", `${path} is not a capture offset`, {
      hint: "remove it: the whole serial history the server keeps is then saved again",
    });
  }
  return { instance: m.instance ?? null, offset: m.offset!, log_bytes: m.log_bytes! };
}
