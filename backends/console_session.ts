/**
 * The terminal side of `vmctl console`, shared by every backend: the
 * terminal in raw mode, guest output to stdout, typed bytes to the guest,
 * Ctrl+] (0x1d) detaches (bytes typed before it in the same read are still
 * sent). The terminal mode is restored on every exit path (detach, the guest
 * side closing, an error, SIGTERM/SIGHUP). How bytes reach the guest (a unix
 * socket for QEMU, a websocket for Propolis) is the backend's {@link ConsoleLink}.
 *
 * @module
 */
import { host } from "../host/mod.ts";
import type { Signal } from "../host/mod.ts";

/** The detach key, Ctrl+]. */
export const DETACH = 0x1d;

/** Split a chunk typed by the user at the detach key: what to send, and whether to detach. */
export function splitAtDetach(chunk: Uint8Array): { send: Uint8Array; detach: boolean } {
  const i = chunk.indexOf(DETACH);
  return i < 0 ? { send: chunk, detach: false } : { send: chunk.subarray(0, i), detach: true };
}

/** The terminal a console session runs on. */
export interface ConsoleIo {
  stdin: { read(p: Uint8Array): Promise<number | null>; isTerminal(): boolean };
  stdout: { write(p: Uint8Array): Promise<number> };
  setRaw(raw: boolean): void;
  notice(msg: string): void;
}

/** This process's terminal. */
export const realIo: ConsoleIo = {
  stdin: host.stdin,
  stdout: host.stdout,
  setRaw: (raw) => host.stdin.setRaw(raw),
  notice: (m) => host.stderr.writeSync(new TextEncoder().encode(m)),
};

/** An open connection to a guest's serial console. */
export interface ConsoleLink {
  /** Pass guest output to `output` until the guest side closes or {@link close} is called. */
  pump(output: (bytes: Uint8Array) => Promise<void>): Promise<void>;
  /** Send typed bytes to the guest (a closed link drops them). */
  send(bytes: Uint8Array): Promise<void>;
  close(): void;
}

/** Who ended a session: the user (Ctrl+], end of input, a signal) or the guest side. */
export type SessionEnd = "user" | "remote";

/** Run a console session on `link` until the user detaches or the guest side closes. */
export async function runConsoleSession(
  link: ConsoleLink,
  label: string,
  io: ConsoleIo = realIo,
): Promise<SessionEnd> {
  const tty = io.stdin.isTerminal();
  let restored = !tty;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      io.setRaw(false);
    } catch { /* terminal gone */ }
  };
  const closeLink = () => {
    try {
      link.close();
    } catch { /* already closed */ }
  };
  let userEnded = false;
  const endByUser = () => {
    userEnded = true;
    restore();
    closeLink();
  };
  const signals: Signal[] = ["SIGTERM", "SIGHUP"];
  const stopListening = signals.map((s) => host.onSignal(s, endByUser));
  if (tty) io.setRaw(true);
  io.notice(`Connected to ${label}. Press Ctrl+] to detach.\r\n`);
  let done = false;
  const fromGuest = link.pump(async (bytes) => {
    let off = 0;
    while (off < bytes.length) off += await io.stdout.write(bytes.subarray(off));
  }).catch(() => {/* closed on detach */}).finally(() => (done = true));
  const toGuest = (async () => {
    const buf = new Uint8Array(4096);
    while (!done) {
      const n = await io.stdin.read(buf);
      if (n === null) break;
      const { send, detach } = splitAtDetach(buf.subarray(0, n));
      if (send.length) await link.send(send).catch(() => {});
      if (detach) break;
    }
    if (!done) userEnded = true;
  })();
  try {
    await Promise.race([fromGuest, toGuest]);
  } finally {
    restore();
    for (const stop of stopListening) stop();
    closeLink();
    await fromGuest;
    io.notice("\r\nDetached from console.\r\n");
  }
  return userEnded ? "user" : "remote";
}
