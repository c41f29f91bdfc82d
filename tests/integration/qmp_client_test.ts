/**
 * The QMP client against a real `qemu-system-x86_64 -machine none` (no guest,
 * starts in well under a second) and against a few hand-made sockets for the
 * failure modes (refused, closed, silent, not JSON).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectQmp, queryVnc } from "../../lib/qmp.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

async function withQemu(
  fn: (sock: string, child: Deno.ChildProcess) => Promise<void>,
  extra: string[] = [],
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-qmp-" });
  const sock = join(dir, "qmp.sock");
  const child = new Deno.Command("qemu-system-x86_64", {
    args: [
      "-machine",
      "none",
      "-nodefaults",
      "-display",
      "none",
      "-qmp",
      `unix:${sock},server=on,wait=off`,
      ...extra,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await fn(sock, child);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

async function assertDiagnostic(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert(e instanceof Diagnostic, `expected a Diagnostic, got ${e}`);
    assert.equal(e.code, code);
    return true;
  });
}

Deno.test("qmp negotiates capabilities and reports query-status", async () => {
  await withQemu(async (sock) => {
    const qmp = await connectQmp(sock, { retry: true, timeoutMs: 10_000 });
    try {
      assert(qmp.version && qmp.version.major >= 5);
      const st = await qmp.execute<{ status: string; running: boolean }>("query-status");
      assert.deepEqual(typeof st.running, "boolean");
      assert.deepEqual(typeof st.status, "string");
    } finally {
      qmp.close();
    }
  });
});

Deno.test("qmp keeps events apart from replies (stop then cont)", async () => {
  await withQemu(async (sock) => {
    const qmp = await connectQmp(sock, { retry: true, timeoutMs: 10_000 });
    try {
      await qmp.execute("stop");
      const paused = await qmp.execute<{ status: string }>("query-status");
      assert.deepEqual(paused.status, "paused");
      await qmp.waitEvent("STOP", 2_000);
      await qmp.execute("cont");
      await qmp.waitEvent("RESUME", 2_000);
      assert.deepEqual(qmp.events.map((e) => e.event).filter((e) => e !== "RESET"), [
        "STOP",
        "RESUME",
      ]);
    } finally {
      qmp.close();
    }
  });
});

Deno.test("qmp answers concurrent commands by id", async () => {
  await withQemu(async (sock) => {
    const qmp = await connectQmp(sock, { retry: true, timeoutMs: 10_000 });
    try {
      const [a, b, c] = await Promise.all([
        qmp.execute<{ status: string }>("query-status"),
        qmp.execute<{ qemu: { major: number } }>("query-version"),
        qmp.execute<{ name?: string }>("query-name"),
      ]);
      assert.deepEqual(typeof a.status, "string");
      assert(b.qemu.major >= 5);
      assert.deepEqual(typeof c, "object");
    } finally {
      qmp.close();
    }
  });
});

Deno.test("qmp turns a QEMU error reply into vmctl::qmp::command_failed", async () => {
  await withQemu(async (sock) => {
    const qmp = await connectQmp(sock, { retry: true, timeoutMs: 10_000 });
    try {
      await assertDiagnostic(qmp.execute("no-such-command"), "vmctl::qmp::command_failed");
      // the session is still usable after an error
      await qmp.execute("query-status");
    } finally {
      qmp.close();
    }
  });
});

Deno.test("qmp query-vnc is null when VNC is off and host:port when on", async () => {
  await withQemu(async (sock) => {
    const qmp = await connectQmp(sock, { retry: true, timeoutMs: 10_000 });
    try {
      assert.deepEqual(await queryVnc(qmp), null);
    } finally {
      qmp.close();
    }
  });
  await withQemu(async (sock) => {
    const qmp = await connectQmp(sock, { retry: true, timeoutMs: 10_000 });
    try {
      const addr = await queryVnc(qmp);
      assert(addr && /^127\.0\.0\.1:59\d\d$/.test(addr), `got ${addr}`);
    } finally {
      qmp.close();
    }
  }, ["-vnc", "127.0.0.1:0,to=99"]);
});

Deno.test("qmp quit ends QEMU and later calls report a closed connection", async () => {
  await withQemu(async (sock, child) => {
    const qmp = await connectQmp(sock, { retry: true, timeoutMs: 10_000 });
    try {
      await qmp.execute("quit");
      const st = await child.status;
      assert.deepEqual(st.code, 0);
      await assertDiagnostic(qmp.execute("query-status"), "vmctl::qmp::closed");
    } finally {
      qmp.close();
    }
  });
});

Deno.test("qmp reports a missing socket as vmctl::qmp::no_socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertDiagnostic(connectQmp(join(dir, "nope.sock")), "vmctl::qmp::no_socket");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("qmp reports the stale socket of a killed QEMU as vmctl::qmp::refused", async () => {
  await withQemu(async (sock, child) => {
    (await connectQmp(sock, { retry: true, timeoutMs: 10_000 })).close();
    child.kill("SIGKILL");
    await child.status;
    await Deno.stat(sock); // SIGKILL leaves the socket file behind
    await assertDiagnostic(connectQmp(sock, { timeoutMs: 500 }), "vmctl::qmp::refused");
  });
});

Deno.test("qmp times out on a server that never greets", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "silent.sock");
  const l = Deno.listen({ transport: "unix", path });
  const accepted: Deno.Conn[] = [];
  const acceptor = (async () => {
    for await (const c of l) accepted.push(c);
  })();
  try {
    const t0 = Date.now();
    await assertDiagnostic(connectQmp(path, { timeoutMs: 300 }), "vmctl::qmp::timeout");
    assert(Date.now() - t0 < 2_000);
  } finally {
    l.close();
    await acceptor.catch(() => {});
    for (const c of accepted) c.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("qmp rejects a peer that is not speaking JSON", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "junk.sock");
  const l = Deno.listen({ transport: "unix", path });
  const server = (async () => {
    const c = await l.accept();
    await c.write(new TextEncoder().encode("hello, I am not QEMU\n"));
    return c;
  })();
  try {
    await assertDiagnostic(connectQmp(path, { timeoutMs: 10_000 }), "vmctl::qmp::protocol");
  } finally {
    (await server).close();
    l.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("qmp reports a connection closed before the greeting", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "close.sock");
  const l = Deno.listen({ transport: "unix", path });
  const server = (async () => {
    const c = await l.accept();
    c.close();
  })();
  try {
    await assertDiagnostic(connectQmp(path, { timeoutMs: 10_000 }), "vmctl::qmp::closed");
  } finally {
    await server;
    l.close();
    await Deno.remove(dir, { recursive: true });
  }
});
