/**
 * `vmctl console`: attach the terminal to a VM's serial console socket in raw
 * mode. Ctrl+] (0x1d) detaches; bytes typed before it in the same read are
 * still sent. The terminal mode is restored on every exit path (detach, the
 * VM closing the socket, an error, SIGTERM/SIGHUP).
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { errorKind, host, isNotFound } from "../../host/mod.ts";
import type { Conn, Signal } from "../../host/mod.ts";

/** The detach key, Ctrl+]. */
export const DETACH = 0x1d;

/** Split a chunk typed by the user at the detach key: what to send, and whether to detach. */
export function splitAtDetach(chunk: Uint8Array): { send: Uint8Array; detach: boolean } {
  const i = chunk.indexOf(DETACH);
  return i < 0 ? { send: chunk, detach: false } : { send: chunk.subarray(0, i), detach: true };
}

export interface ConsoleIo {
  stdin: { read(p: Uint8Array): Promise<number | null>; isTerminal(): boolean };
  stdout: { write(p: Uint8Array): Promise<number> };
  setRaw(raw: boolean): void;
  notice(msg: string): void;
}

const realIo: ConsoleIo = {
  stdin: host.stdin,
  stdout: host.stdout,
  setRaw: (raw) => host.stdin.setRaw(raw),
  notice: (m) => host.stderr.writeSync(new TextEncoder().encode(m)),
};

/** Attach to the console at `socketPath` until Ctrl+] or the VM closes it. */
export async function attachConsole(socketPath: string, io: ConsoleIo = realIo): Promise<void> {
  let conn: Conn;
  try {
    conn = await host.connectUnix(socketPath);
  } catch (err) {
    throw new Diagnostic("vmctl::console::connect_failed", `cannot open console ${socketPath}`, {
      hint: errorKind(err) === "ConnectionRefused" || isNotFound(err)
        ? "the VM is not running"
        : "QEMU serves one console client at a time; is another `vmctl console` attached?",
      cause: err,
    });
  }
  const tty = io.stdin.isTerminal();
  let restored = !tty;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      io.setRaw(false);
    } catch { /* terminal gone */ }
  };
  const onSignal = () => {
    restore();
    conn.close();
  };
  const signals: Signal[] = ["SIGTERM", "SIGHUP"];
  const stopListening = signals.map((s) => host.onSignal(s, onSignal));
  if (tty) io.setRaw(true);
  io.notice(`Connected to ${socketPath}. Press Ctrl+] to detach.\r\n`);
  let done = false;
  const fromVm = (async () => {
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        await io.stdout.write(buf.subarray(0, n));
      }
    } catch { /* closed on detach */ }
    done = true;
  })();
  const toVm = (async () => {
    const buf = new Uint8Array(4096);
    while (!done) {
      const n = await io.stdin.read(buf);
      if (n === null) break;
      const { send, detach } = splitAtDetach(buf.subarray(0, n));
      if (send.length) await conn.write(send).catch(() => {});
      if (detach) break;
    }
  })();
  try {
    await Promise.race([fromVm, toVm]);
  } finally {
    restore();
    for (const stop of stopListening) stop();
    try {
      conn.close();
    } catch { /* already closed */ }
    await fromVm;
    io.notice("\r\nDetached from console.\r\n");
  }
}
