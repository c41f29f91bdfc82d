/**
 * A small QMP (QEMU Machine Protocol) client over a unix socket.
 *
 * One connection per operation: greeting, `qmp_capabilities`, then commands.
 * Every command carries an `id`; replies are matched by id, asynchronous
 * events (`{"event": ...}`) are kept apart in {@link QmpClient.events} and
 * never mistaken for a reply. Every call has a timeout, and a refused, missing
 * or closed socket is a Diagnostic, never a hang.
 *
 * @module
 */
import { deadline, sleep } from "./async.ts";
import { Diagnostic } from "./diagnostics.ts";
import { errorKind, host, isNotFound, isPermissionRefused } from "../host/mod.ts";
import type { Conn } from "../host/mod.ts";

/** An asynchronous QMP event (SHUTDOWN, STOP, RESUME, POWERDOWN, ...). */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpConnectOptions {
  /** Budget for connecting + greeting + capabilities negotiation (default 5 000 ms). */
  timeoutMs?: number;
  /** Keep retrying a missing/refused socket until the budget expires (QEMU still starting). */
  retry?: boolean;
}

export interface QmpExecuteOptions {
  /** Per-command timeout (default 5 000 ms). */
  timeoutMs?: number;
}

/** An open, negotiated QMP session. */
export interface QmpClient {
  /** Run `command` and return its `return` value; a QMP error becomes `vmctl::qmp::command_failed`. */
  execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    opts?: QmpExecuteOptions,
  ): Promise<T>;
  /** Events received so far, in order. */
  readonly events: QmpEvent[];
  /** Wait for an event named `name` (already received or future). */
  waitEvent(name: string, timeoutMs: number): Promise<QmpEvent>;
  /** The greeting's QEMU version, e.g. `{major: 7, minor: 2, micro: 22}`. */
  readonly version: { major: number; minor: number; micro: number } | null;
  /** Close the socket (idempotent). */
  close(): void;
}

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: unknown): void;
}

const encoder = new TextEncoder();

/** Connect to the QMP socket at `path` and negotiate capabilities. */
export async function connectQmp(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
  const budget = opts.timeoutMs ?? 5_000;
  const giveUpAt = Date.now() + budget;
  let conn: Conn | undefined;
  let delay = 50;
  for (;;) {
    try {
      conn = await host.connectUnix(path);
      break;
    } catch (err) {
      const retryable = isNotFound(err) ||
        errorKind(err) === "ConnectionRefused";
      if (!opts.retry || !retryable || Date.now() + delay > giveUpAt) {
        throw connectError(path, err);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 500);
    }
  }
  const session = new Session(conn, path);
  try {
    const greeting = await deadline(session.greeting, Math.max(1, giveUpAt - Date.now()), {
      onTimeout: () => timeoutError(path, "the greeting"),
    });
    const v = (greeting.QMP as { version?: { qemu?: QmpVersion } } | undefined)?.version?.qemu;
    session.version = v ?? null;
    await session.execute("qmp_capabilities", undefined, {
      timeoutMs: Math.max(1, giveUpAt - Date.now()),
    });
  } catch (err) {
    session.close();
    throw err;
  }
  return session;
}

type QmpVersion = { major: number; minor: number; micro: number };

class Session implements QmpClient {
  readonly events: QmpEvent[] = [];
  version: QmpVersion | null = null;
  readonly greeting: Promise<Record<string, unknown>>;
  #conn: Conn;
  #path: string;
  #pending = new Map<string, Pending>();
  #eventWaiters: { name: string; resolve(e: QmpEvent): void }[] = [];
  #nextId = 1;
  #closed = false;
  #closeReason: Diagnostic | null = null;
  #resolveGreeting!: (g: Record<string, unknown>) => void;
  #rejectGreeting!: (e: unknown) => void;

  constructor(conn: Conn, path: string) {
    this.#conn = conn;
    this.#path = path;
    this.greeting = new Promise((resolve, reject) => {
      this.#resolveGreeting = resolve;
      this.#rejectGreeting = reject;
    });
    this.greeting.catch(() => {}); // observed by connectQmp; avoid unhandled rejection noise
    this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(64 * 1024);
    let text = "";
    try {
      for (;;) {
        const n = await this.#conn.read(buf);
        if (n === null) break;
        text += decoder.decode(buf.subarray(0, n), { stream: true });
        let nl: number;
        while ((nl = text.indexOf("\n")) >= 0) {
          const line = text.slice(0, nl).trim();
          text = text.slice(nl + 1);
          if (line) this.#dispatch(line);
        }
      }
      this.#fail(closedError(this.#path));
    } catch (err) {
      this.#fail(
        this.#closed || errorKind(err) === "ConnectionReset" ||
          errorKind(err) === "BrokenPipe"
          ? closedError(this.#path, err)
          : new Diagnostic(
            "vmctl::qmp::io",
            `reading from QMP socket ${this.#path} failed: ${String(err)}`,
            { hint: "QEMU may have exited; check `vmctl status`", cause: err },
          ),
      );
    }
  }

  #dispatch(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#fail(
        new Diagnostic("vmctl::qmp::protocol", `QMP sent a line that is not JSON: ${line}`, {
          hint: "the socket is not a QMP server (check the path)",
        }),
      );
      this.close();
      return;
    }
    if ("QMP" in msg) return this.#resolveGreeting(msg);
    if (typeof msg.event === "string") {
      const ev = msg as unknown as QmpEvent;
      this.events.push(ev);
      this.#eventWaiters = this.#eventWaiters.filter((w) => {
        if (w.name !== ev.event) return true;
        w.resolve(ev);
        return false;
      });
      return;
    }
    const id = typeof msg.id === "string" ? msg.id : undefined;
    const pending = id ? this.#pending.get(id) : undefined;
    if (!pending || !id) return; // a reply nobody waits for (timed out earlier): drop it
    this.#pending.delete(id);
    pending.resolve(msg);
  }

  #fail(reason: Diagnostic): void {
    if (!this.#closeReason) this.#closeReason = reason;
    this.#rejectGreeting(reason);
    for (const p of this.#pending.values()) p.reject(reason);
    this.#pending.clear();
  }

  async execute<T = unknown>(
    command: string,
    args?: Record<string, unknown>,
    opts: QmpExecuteOptions = {},
  ): Promise<T> {
    if (this.#closeReason) throw this.#closeReason;
    const id = `vmctl-${this.#nextId++}`;
    const reply = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    const msg = args === undefined
      ? { execute: command, id }
      : { execute: command, arguments: args, id };
    try {
      await this.#conn.write(encoder.encode(JSON.stringify(msg) + "\n"));
    } catch (err) {
      this.#pending.delete(id);
      throw closedError(this.#path, err);
    }
    const timeoutMs = opts.timeoutMs ?? 5_000;
    let res: Record<string, unknown>;
    try {
      res = await deadline(reply, timeoutMs, {
        onTimeout: () => timeoutError(this.#path, command),
      });
    } finally {
      this.#pending.delete(id);
    }
    if (res.error) {
      const e = res.error as { class?: string; desc?: string };
      throw new Diagnostic(
        "vmctl::qmp::command_failed",
        `QMP command \`${command}\` failed: ${e.desc ?? "unknown error"}`,
        { hint: `QEMU refused it (${e.class ?? "GenericError"})`, details: [] },
      );
    }
    return res.return as T;
  }

  waitEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    const seen = this.events.find((e) => e.event === name);
    if (seen) return Promise.resolve(seen);
    const p = new Promise<QmpEvent>((resolve) => this.#eventWaiters.push({ name, resolve }));
    return deadline(p, timeoutMs, { onTimeout: () => timeoutError(this.#path, `event ${name}`) });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }
}

/** A connection failure, named by its cause. */
function connectError(path: string, err: unknown): Diagnostic {
  if (isNotFound(err)) {
    return new Diagnostic("vmctl::qmp::no_socket", `QMP socket ${path} does not exist`, {
      hint: "the VM is not running (QEMU removes its sockets when it exits)",
      cause: err,
    });
  }
  if (errorKind(err) === "ConnectionRefused") {
    return new Diagnostic("vmctl::qmp::refused", `QMP socket ${path} refused the connection`, {
      hint: "QEMU is gone and left a stale socket; `vmctl status` reconciles the state",
      cause: err,
    });
  }
  if (isPermissionRefused(err)) {
    return new Diagnostic(
      "vmctl::permission::denied",
      `cannot connect to ${path}: ${(err as Error).message}`,
      {
        hint: "run with --allow-read and --allow-write for the data directory",
        cause: err,
      },
    );
  }
  return new Diagnostic("vmctl::qmp::connect_failed", `cannot connect to QMP socket ${path}`, {
    hint: String(err),
    cause: err,
  });
}

function closedError(path: string, cause?: unknown): Diagnostic {
  return new Diagnostic("vmctl::qmp::closed", `QEMU closed the QMP connection (${path})`, {
    hint: "QEMU exited or another client took over; check `vmctl status` and console.log",
    cause,
  });
}

function timeoutError(path: string, what: string): Diagnostic {
  return new Diagnostic("vmctl::qmp::timeout", `QMP did not answer ${what} in time (${path})`, {
    hint: "QEMU is hung or busy; `vmctl stop` escalates to signals after its timeout",
  });
}

/** `query-status` result: QEMU's run state (running, paused, shutdown, ...). */
export interface QmpStatus {
  running: boolean;
  status: string;
}

/** `query-vnc` → "host:port", or null when VNC is off. */
export async function queryVnc(client: QmpClient): Promise<string | null> {
  const r = await client.execute<{ enabled: boolean; host?: string; service?: string }>(
    "query-vnc",
  ).catch(() => null);
  if (!r || !r.enabled) return null;
  return `${r.host ?? "127.0.0.1"}:${r.service ?? "0"}`;
}
