/**
 * `vmctl console` on QEMU: the serial console is a unix socket (QEMU's
 * chardev); the terminal session is the shared one (backends/console_session.ts).
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { errorKind, host, isNotFound } from "../../host/mod.ts";
import type { Conn } from "../../host/mod.ts";
import { type ConsoleIo, type ConsoleLink, realIo, runConsoleSession } from "../console_session.ts";

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
  await runConsoleSession(socketLink(conn), socketPath, io);
}

function socketLink(conn: Conn): ConsoleLink {
  return {
    async pump(output) {
      const buf = new Uint8Array(16 * 1024);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) return;
        await output(buf.slice(0, n));
      }
    },
    async send(bytes) {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    },
    close: () => conn.close(),
  };
}
