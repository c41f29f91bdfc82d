/**
 * The console client against a unix socket server standing in for QEMU's
 * serial chardev, with a scripted terminal: Ctrl+] detaches (bytes before it
 * are still sent), the VM closing the socket ends the session, and raw mode
 * is always switched back off.
 */
import { join } from "node:path";
import { attachConsole } from "../../backends/qemu/console.ts";
import { type ConsoleIo, splitAtDetach } from "../../backends/console_session.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { assertEquals, assertRejects } from "../helpers/assert.ts";

function scriptedIo(input: Uint8Array[], holdOpen = false) {
  const rawCalls: boolean[] = [];
  const out: number[] = [];
  const io: ConsoleIo = {
    stdin: {
      isTerminal: () => true,
      read(p) {
        const next = input.shift();
        if (!next) return holdOpen ? new Promise(() => {}) : Promise.resolve(null);
        p.set(next);
        return Promise.resolve(next.length);
      },
    },
    stdout: {
      write(p) {
        out.push(...p);
        return Promise.resolve(p.length);
      },
    },
    setRaw: (r) => void rawCalls.push(r),
    notice: () => {},
  };
  return { io, rawCalls, out };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("splitAtDetach keeps the bytes typed before Ctrl+]", () => {
  const r = splitAtDetach(enc.encode("ls\x1dxyz"));
  assertEquals(dec.decode(r.send), "ls");
  assertEquals(r.detach, true);
  assertEquals(splitAtDetach(enc.encode("plain")).detach, false);
});

Deno.test("console sends typed bytes up to Ctrl+], then detaches and restores the terminal", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "console.sock");
  const listener = Deno.listen({ transport: "unix", path });
  const received: number[] = [];
  const server = (async () => {
    const c = await listener.accept();
    await c.write(enc.encode("Debian GNU/Linux 12 login: "));
    const buf = new Uint8Array(100);
    for (;;) {
      const n = await c.read(buf).catch(() => null);
      if (n === null) break;
      received.push(...buf.subarray(0, n));
    }
    c.close();
  })();
  try {
    // let the greeting arrive before typing
    const { io, rawCalls, out } = scriptedIo([]);
    io.stdin.read = (() => {
      let sent = false;
      return async (p: Uint8Array) => {
        if (sent) return null;
        await new Promise((r) => setTimeout(r, 100));
        sent = true;
        const b = enc.encode("root\r\x1dignored");
        p.set(b);
        return b.length;
      };
    })();
    await attachConsole(path, io);
    await server;
    assertEquals(dec.decode(new Uint8Array(received)), "root\r");
    assertEquals(dec.decode(new Uint8Array(out)), "Debian GNU/Linux 12 login: ");
    assertEquals(rawCalls, [true, false]);
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("console ends when the VM closes the socket and still restores the terminal", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "console.sock");
  const listener = Deno.listen({ transport: "unix", path });
  const server = (async () => {
    const c = await listener.accept();
    await c.write(enc.encode("reboot: Power down\r\n"));
    c.close();
  })();
  try {
    const { io, rawCalls, out } = scriptedIo([], true);
    await attachConsole(path, io);
    await server;
    assertEquals(dec.decode(new Uint8Array(out)), "reboot: Power down\r\n");
    assertEquals(rawCalls, [true, false]);
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("console on a missing socket is a diagnostic and leaves the terminal alone", async () => {
  const { io, rawCalls } = scriptedIo([]);
  const e = await assertRejects(() => attachConsole("/nonexistent/console.sock", io), Diagnostic);
  assertEquals(e.code, "vmctl::console::connect_failed");
  assertEquals(rawCalls, []);
});
