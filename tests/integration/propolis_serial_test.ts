/**
 * The Propolis serial console and serial log against a small in-test
 * propolis-server (Deno.serve): it refuses requests without `api-version`,
 * serves `/instance/serial` as a websocket (binary frames both ways, text
 * frames for control messages) and `/instance/serial/history` with the real
 * server's buffer rules (the first and the most recent MiB are kept; an
 * offset between them is a 400).
 *
 * The console is driven through the module (attachSerial with a scripted
 * terminal): the CLI's console needs a terminal in raw mode, and the router
 * of this branch does not build Propolis VMs yet. `vmctl log` is driven
 * through the CLI where it needs no Propolis backend, else through its
 * capture step with a stand-in backend.
 */
import {
  attachSerial,
  captureSerial,
  controlNotice,
  fetchSerialHistory,
  SERVER_RECENT_BYTES,
} from "../../backends/propolis/serial.ts";
import type { ConsoleIo } from "../../backends/console_session.ts";
import type { BackendContext, Hypervisor } from "../../backends/hypervisor.ts";
import { captureConsoleOf } from "../../cli/vm/log.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import type { VmRecord } from "../../lib/types.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What the in-test server saw and does. */
interface FakeServer {
  addr: string;
  /** Guest output so far (the serial history). */
  output: Uint8Array;
  /** Append guest output (live sockets get it as a binary frame). */
  print(text: string | Uint8Array): void;
  /** Send a text frame to every live socket. */
  control(text: string): void;
  /** Close every live socket from the server side. */
  hangUp(): void;
  /** Bytes typed by clients, in binary frames. */
  typed: number[];
  /** Text frames received from clients (none expected). */
  textFrames: string[];
  /** Query strings of the websocket requests. */
  serialQueries: string[];
  /** Requests refused for a missing or wrong api-version. */
  refused: number;
  shutdown(): Promise<void>;
}

const BUFFER = SERVER_RECENT_BYTES;

/** The real server's history rule: [start, end) of what it returns from `from` (null: expired). */
function kept(total: number, from: number): [number, number] | null {
  from = Math.min(from, total);
  if (total <= 2 * BUFFER) return [from, total];
  if (from < BUFFER) return [from, BUFFER];
  if (total - from <= BUFFER) return [from, total];
  return null;
}

function startServer(o: { noInstance?: boolean } = {}): FakeServer {
  const sockets = new Set<WebSocket>();
  const s: FakeServer = {
    addr: "",
    output: new Uint8Array(),
    typed: [],
    textFrames: [],
    serialQueries: [],
    refused: 0,
    print(text) {
      const bytes = typeof text === "string" ? enc.encode(text) : text;
      const all = new Uint8Array(s.output.length + bytes.length);
      all.set(s.output);
      all.set(bytes, s.output.length);
      s.output = all;
      for (const ws of sockets) ws.send(bytes);
    },
    control(text) {
      for (const ws of sockets) ws.send(text);
    },
    hangUp() {
      for (const ws of sockets) ws.close(1000, "instance stopped");
    },
    shutdown: () => server.shutdown(),
  };
  const json = (status: number, body: unknown) => Response.json(body, { status });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (req.headers.get("api-version") !== "5.0.0") {
      s.refused++;
      return json(400, { request_id: "r", message: 'missing expected header "api-version"' });
    }
    if (o.noInstance) {
      return json(424, {
        request_id: "r",
        error_code: "NoInstance",
        message: "Server not initialized (no instance)",
      });
    }
    const q = url.searchParams;
    const fromStart = q.get("from_start");
    const mostRecent = q.get("most_recent");
    if ((fromStart === null) === (mostRecent === null)) {
      return json(400, {
        request_id: "r",
        message: "Exactly one of 'from_start' or 'most_recent'",
      });
    }
    const total = s.output.length;
    const from = fromStart !== null ? Number(fromStart) : Math.max(0, total - Number(mostRecent));
    const range = kept(total, from);
    if (url.pathname === "/instance/serial/history") {
      if (!range) return json(400, { request_id: "r", message: "no longer cached" });
      const end = Math.min(range[1], range[0] + Number(q.get("max_bytes") ?? 16384));
      return json(200, { data: [...s.output.subarray(range[0], end)], last_byte_offset: end });
    }
    if (url.pathname !== "/instance/serial") return json(404, { request_id: "r", message: "" });
    s.serialQueries.push(url.search);
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      if (range) socket.send(s.output.slice(range[0], range[1]));
      sockets.add(socket);
    };
    socket.onmessage = (ev) => {
      if (typeof ev.data === "string") s.textFrames.push(ev.data);
      else s.typed.push(...new Uint8Array(ev.data));
    };
    socket.onclose = () => sockets.delete(socket);
    return response;
  });
  s.addr = `127.0.0.1:${server.addr.port}`;
  return s;
}

/** Wait until `cond` holds; a test whose event never comes fails instead of hanging. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i === 6000) throw new Error(`never saw ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A scripted terminal: each step waits until the output shows `after`, then
 * types `keys`; when the steps run out, input stays open (a user who types
 * nothing more).
 */
function terminal(steps: { after: string; keys: string }[]) {
  const out: number[] = [];
  const notices: string[] = [];
  const rawCalls: boolean[] = [];
  const shown = () => dec.decode(new Uint8Array(out));
  const io: ConsoleIo = {
    stdin: {
      isTerminal: () => true,
      async read(p) {
        const step = steps.shift();
        if (!step) return await new Promise<null>(() => {});
        await until(() => shown().includes(step.after), `output ${JSON.stringify(step.after)}`);
        const bytes = enc.encode(step.keys);
        p.set(bytes);
        return bytes.length;
      },
    },
    stdout: {
      write(p) {
        out.push(...p);
        return Promise.resolve(p.length);
      },
    },
    setRaw: (r) => void rawCalls.push(r),
    notice: (m) => void notices.push(m),
  };
  return { io, shown, notices, rawCalls };
}

function serialUrlOf(s: FakeServer): string {
  return `ws://${s.addr}/instance/serial`;
}

Deno.test("console replays recent output, sends typed bytes as binary frames, and Ctrl+] detaches", async () => {
  const s = startServer();
  try {
    s.print("Debian GNU/Linux 12 web ttyS0\r\n\r\nweb login: ");
    const t = terminal([{ after: "login: ", keys: "root\r\x1dnot sent" }]);
    await attachSerial(serialUrlOf(s), t.io);
    assertEquals(t.shown(), "Debian GNU/Linux 12 web ttyS0\r\n\r\nweb login: ");
    assertEquals(dec.decode(new Uint8Array(s.typed)), "root\r");
    assertEquals(s.textFrames, []);
    assertEquals(s.serialQueries, ["?most_recent=16384"]);
    assertEquals(s.refused, 0);
    assertEquals(t.rawCalls, [true, false]);
  } finally {
    await s.shutdown();
  }
});

Deno.test("console shows live output and a control message as a notice, and goes on", async () => {
  const s = startServer();
  try {
    s.print("boot\r\n");
    const t = terminal([
      { after: "boot\r\n", keys: "a" },
      { after: "after migration notice", keys: "\x1d" },
    ]);
    const session = attachSerial(serialUrlOf(s), t.io);
    await until(() => s.typed.length > 0, "typed bytes at the server");
    s.control('{"Migrating":{"destination":"10.0.0.9:12400","from_start":7}}');
    s.print("after migration notice");
    await session;
    assertEquals(t.shown(), "boot\r\nafter migration notice");
    assertEquals(t.notices.filter((n) => n.includes("migrating to 10.0.0.9:12400")).length, 1);
    assertEquals(dec.decode(new Uint8Array(s.typed)), "a");
  } finally {
    await s.shutdown();
  }
});

Deno.test("a control message that is not JSON is one sanitised notice line", () => {
  assertEquals(
    controlNotice("\x1b[2Jodd"),
    "\r\n[vmctl] control message from propolis-server: [2Jodd\r\n",
  );
});

Deno.test("console closed by the server is a diagnostic, and the terminal is restored", async () => {
  const s = startServer();
  try {
    s.print("login: ");
    const t = terminal([]);
    const session = attachSerial(serialUrlOf(s), t.io);
    await until(() => t.shown().includes("login: "), "the login prompt");
    s.hangUp();
    const e = await assertRejects(() => session, Diagnostic);
    assertEquals(e.code, "vmctl::console::closed");
    assertStringIncludes(e.message, "instance stopped");
    assertStringIncludes(e.hint ?? "", "the VM stopped");
    assertEquals(t.rawCalls, [true, false]);
  } finally {
    await s.shutdown();
  }
});

Deno.test("console to a server that is not there is a diagnostic and leaves the terminal alone", async () => {
  const s = startServer();
  const url = serialUrlOf(s);
  await s.shutdown();
  const t = terminal([]);
  const e = await assertRejects(() => attachSerial(url, t.io), Diagnostic);
  assertEquals(e.code, "vmctl::console::connect_failed");
  assertStringIncludes(e.hint ?? "", "not running");
  assertEquals(t.rawCalls, []);
});

Deno.test("console on a runtime without WebSocket says so", async () => {
  const saved = globalThis.WebSocket;
  // deno-lint-ignore no-explicit-any
  delete (globalThis as any).WebSocket;
  try {
    const e = await assertRejects(
      () => attachSerial("ws://127.0.0.1:9/instance/serial", terminal([]).io),
      Diagnostic,
    );
    assertEquals(e.code, "vmctl::console::websocket_unavailable");
    assertStringIncludes(e.hint ?? "", "--experimental-websocket");
  } finally {
    globalThis.WebSocket = saved;
  }
});

async function withLogDir(fn: (log: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(`${dir}/console.log`, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("history is read in pieces to the end, with api-version", async () => {
  const s = startServer();
  try {
    const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
    s.print(bytes);
    const h = await fetchSerialHistory(s.addr, 1000);
    assertEquals(h.bytes, bytes.subarray(1000));
    assertEquals(h.lastByteOffset, 200_000);
    assertEquals(h.skipped, undefined);
    assertEquals(s.refused, 0);
  } finally {
    await s.shutdown();
  }
});

Deno.test("history of a server without an instance is a no_instance diagnostic", async () => {
  const s = startServer({ noInstance: true });
  try {
    const e = await assertRejects(() => fetchSerialHistory(s.addr, 0), Diagnostic);
    assertEquals(e.code, "vmctl::propolis::no_instance");
  } finally {
    await s.shutdown();
  }
});

Deno.test("history of a server that is not there is an unreachable diagnostic", async () => {
  const s = startServer();
  await s.shutdown();
  const e = await assertRejects(() => fetchSerialHistory(s.addr, 0), Diagnostic);
  assertEquals(e.code, "vmctl::propolis::unreachable");
});

Deno.test("two captures append only the bytes not yet saved, to a 0600 log", async () => {
  const s = startServer();
  try {
    await withLogDir(async (log, dir) => {
      s.print("first boot\n");
      assertEquals(await captureSerial(s.addr, log), 11);
      s.print("login: ");
      assertEquals(await captureSerial(s.addr, log), 7);
      assertEquals(await captureSerial(s.addr, log), 0);
      assertEquals(await Deno.readTextFile(log), "first boot\nlogin: ");
      assertEquals((await Deno.stat(log)).mode! & 0o777, 0o600);
      assertEquals((await Deno.stat(`${dir}/console.offset`)).mode! & 0o777, 0o600);
    });
  } finally {
    await s.shutdown();
  }
});

Deno.test("a capture cut short before its offset was saved is not saved twice", async () => {
  const s = startServer();
  try {
    await withLogDir(async (log) => {
      s.print("one\n");
      await captureSerial(s.addr, log);
      s.print("two\n");
      await Deno.writeTextFile(log, "two\n", { append: true }); // appended, offset not saved
      await captureSerial(s.addr, log);
      assertEquals(await Deno.readTextFile(log), "one\ntwo\n");
    });
  } finally {
    await s.shutdown();
  }
});

Deno.test("a damaged offset file is a diagnostic and the log is left as it was", async () => {
  const s = startServer();
  try {
    await withLogDir(async (log, dir) => {
      s.print("boot\n");
      await Deno.writeTextFile(log, "saved\n");
      await Deno.writeTextFile(`${dir}/console.offset`, "{not json");
      const e = await assertRejects(() => captureSerial(s.addr, log), Diagnostic);
      assertEquals(e.code, "vmctl::console::bad_offset_file");
      assertEquals(await Deno.readTextFile(log), "saved\n");
    });
  } finally {
    await s.shutdown();
  }
});

Deno.test("a new server run is captured from its start", async () => {
  await withLogDir(async (log) => {
    const first = startServer();
    first.print("run one, a long first boot\n");
    await captureSerial(first.addr, log, { instance: "run-1" });
    await first.shutdown();
    const second = startServer();
    try {
      second.print("run two, a longer second boot\n");
      await captureSerial(second.addr, log, { instance: "run-2" });
      assertEquals(
        await Deno.readTextFile(log),
        "run one, a long first boot\nrun two, a longer second boot\n",
      );
    } finally {
      await second.shutdown();
    }
  });
});

Deno.test("a server that reports fewer bytes than were saved is a new run", async () => {
  await withLogDir(async (log) => {
    const first = startServer();
    first.print("a long first boot\n");
    await captureSerial(first.addr, log);
    await first.shutdown();
    const second = startServer();
    try {
      second.print("reboot\n");
      await captureSerial(second.addr, log);
      assertEquals(await Deno.readTextFile(log), "a long first boot\nreboot\n");
    } finally {
      await second.shutdown();
    }
  });
});

Deno.test("output the server no longer keeps is noted in the log, and the newest is saved", async () => {
  const s = startServer();
  try {
    await withLogDir(async (log) => {
      s.print("early\n");
      await captureSerial(s.addr, log);
      s.print(new Uint8Array(3 * BUFFER).fill(0x2e));
      s.print("latest\n");
      await captureSerial(s.addr, log);
      // The server keeps the first MiB and the most recent one; what lies between is gone.
      const total = 6 + 3 * BUFFER + 7;
      const dotRuns = (await Deno.readTextFile(log)).replace(/\.+/g, (m) => `<${m.length} dots>`);
      assertEquals(
        dotRuns,
        `early\n<${BUFFER - 6} dots>` +
          `\n[vmctl] serial output bytes ${BUFFER}-${
            total - BUFFER
          } were no longer kept by propolis-server\n` +
          `<${BUFFER - 7} dots>latest\n`,
      );
    });
  } finally {
    await s.shutdown();
  }
});

function recordOf(backend: string, state = "running"): VmRecord {
  return { name: "web", backend, state } as unknown as VmRecord;
}

Deno.test("log captures a running VM's console first when its backend keeps it", async () => {
  const calls: string[] = [];
  const backend = {
    state: () => Promise.resolve({ state: "running" }),
    captureConsole: (vm: VmRecord) => Promise.resolve(void calls.push(vm.name)),
  } as unknown as Hypervisor;
  await captureConsoleOf(
    recordOf("propolis"),
    {} as BackendContext,
    () => Promise.resolve(backend),
  );
  assertEquals(calls, ["web"]);
});

Deno.test("log does not capture the console of a VM that is not running", async () => {
  const calls: string[] = [];
  const backend = {
    state: () => Promise.resolve({ state: "stopped" }),
    captureConsole: (vm: VmRecord) => Promise.resolve(void calls.push(vm.name)),
  } as unknown as Hypervisor;
  await captureConsoleOf(
    recordOf("propolis"),
    {} as BackendContext,
    () => Promise.resolve(backend),
  );
  assertEquals(calls, []);
});

Deno.test("a failed console capture does not fail log", async () => {
  const backend = {
    state: () => Promise.resolve({ state: "running" }),
    captureConsole: () => Promise.reject(new Diagnostic("vmctl::propolis::unreachable", "gone")),
  } as unknown as Hypervisor;
  await captureConsoleOf(
    recordOf("propolis"),
    {} as BackendContext,
    () => Promise.resolve(backend),
  );
});

Deno.test("log --console of a VM whose backend cannot be loaded shows the saved log", async () => {
  const home = await tempHome();
  try {
    await vmctlOk(home, ["create", "--name", "web", "--image", await fakeImage(home)]);
    const store = `${home}/vmctl/vms.json`;
    const doc = await Deno.readTextFile(store);
    await Deno.writeTextFile(store, doc.replace('"backend": "noop"', '"backend": "propolis"'));
    await Deno.writeTextFile(`${home}/vmctl/vms/web/console.log`, "saved boot\n");
    const r = await vmctl(home, ["log", "web", "--console"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout, "saved boot\n");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
