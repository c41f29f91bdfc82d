/**
 * The fake propolis-server keeps the contract vmctl's Propolis backend is
 * tested against (fixtures/propolis/README.md): the spec-validated ensure,
 * api-version, the state machine through state-monitor, the serial console,
 * each injected fault, the request record and the guest's sshd.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import {
  type FakePropolis,
  type FakePropolisOptions,
  freePortOn,
  PROPOLIS_BIN_DIR,
  startFakePropolis,
} from "../../fixtures/propolis/mod.ts";
import { writeVmSeed } from "../../lib/cloudinit/vm_seed.ts";

const EXAMPLE = JSON.parse(
  await Deno.readTextFile(
    new URL("../../fixtures/propolis/propolis-ensure-example.json", import.meta.url),
  ),
);
const ZVOL = "/dev/zvol/rdsk/rpool/vm0";
const SEED = "/var/vmctl/seed.iso";

type Body = typeof EXAMPLE;

/** The example body for VM `name`, optionally with a read-only seed disk at SEED. */
function ensureBody(name = "vm0", withSeed = false): Body {
  const body = structuredClone(EXAMPLE);
  body.properties.name = name;
  if (withSeed) {
    const c = body.init.value.spec.components;
    c.seed = {
      type: "virtio_disk",
      component: { backend_id: "seed-be", pci_path: { bus: 0, device: 6, function: 0 } },
    };
    c["seed-be"] = {
      type: "file_storage_backend",
      component: { path: SEED, readonly: true, block_size: 512 },
    };
  }
  return body;
}

/**
 * A fake whose zone root and device root (temp dirs) hold the example's zvol,
 * given to `fn` with its zone root; stopped and removed afterwards.
 */
async function withFake(
  o: FakePropolisOptions,
  fn: (fake: FakePropolis, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "fake-propolis-zone-" });
  await Deno.mkdir(join(root, "dev/zvol/rdsk/rpool"), { recursive: true });
  await Deno.writeFile(join(root, ZVOL), new Uint8Array(512));
  const fake = await startFakePropolis({ root, devRoot: root, ...o });
  try {
    await fn(fake, root);
  } finally {
    await fake.stop();
    await Deno.remove(root, { recursive: true });
  }
}

async function ensure(fake: FakePropolis, body: Body = ensureBody()): Promise<void> {
  const r = await fake.request("PUT", "/instance", body);
  assertEquals(r.status, 201, r.text);
}

/** Follow state-monitor from generation `gen` until `state`; the last answer. */
async function waitForState(fake: FakePropolis, state: string, gen = 0) {
  for (;;) {
    const r = await fake.request("GET", "/instance/state-monitor", { gen });
    assertEquals(r.status, 200, r.text);
    const answer = r.json() as { gen: number; state: string };
    if (answer.state === state) return answer;
    gen = answer.gen + 1;
  }
}

/** The states the server entered, in order, from its log. */
function statesEntered(fake: FakePropolis): string[] {
  return fake.log().split("\n").filter((l) => l.includes('"instance state changed"'))
    .map((l) => JSON.parse(l).state);
}

Deno.test("the spec's example ensure body is accepted, one without a board is refused", async () => {
  await withFake({}, async (fake) => {
    const noBoard = ensureBody();
    delete noBoard.init.value.spec.board;
    const refused = await fake.request("PUT", "/instance", noBoard);
    assertEquals(refused.status, 400);
    assertMatch(
      (refused.json() as { message: string }).message,
      /^failed to generate internal instance spec: .*board/,
    );
    await ensure(fake);
    const got = await fake.request("GET", "/instance");
    assertEquals(got.json(), { instance: { properties: EXAMPLE.properties, state: "Creating" } });
  });
});

Deno.test("a component key that is a UUID is accepted (SpecKey read as serde's untagged enum)", async () => {
  await withFake({}, async (fake) => {
    const body = ensureBody();
    const c = body.init.value.spec.components;
    const key = "3e1f6c1a-8a52-4a0e-9d0e-6f2b8c1d4e5f";
    c[key] = c["disk0-be"];
    delete c["disk0-be"];
    c.disk0.component.backend_id = key;
    await ensure(fake, body);
  });
});

Deno.test("a request without api-version, or with a newer one, gets 400", async () => {
  await withFake({}, async (fake) => {
    const missing = await fake.request("GET", "/instance", undefined, { "api-version": null });
    assertEquals(missing.status, 400);
    const body = missing.json() as Record<string, string>;
    assertEquals(body.message, 'missing expected header "api-version"');
    assert(body.request_id, "a dropshot error body has a request_id");
    const newer = await fake.request("GET", "/instance", undefined, { "api-version": "6.0.0" });
    assertEquals(newer.status, 400);
  });
});

Deno.test("before the ensure the instance endpoints answer 424 NoInstance, unknown paths 404", async () => {
  await withFake({}, async (fake) => {
    const r = await fake.request("PUT", "/instance/state", "Run");
    assertEquals(r.status, 424);
    assertEquals((r.json() as Record<string, string>).error_code, "NoInstance");
    assertEquals((await fake.request("GET", "/no/such/path")).status, 404);
  });
});

Deno.test("a second ensure is 409 AlreadyInitialized", async () => {
  await withFake({}, async (fake) => {
    await ensure(fake);
    const r = await fake.request("PUT", "/instance", ensureBody());
    assertEquals(r.status, 409);
    assertEquals((r.json() as Record<string, string>).error_code, "AlreadyInitialized");
  });
});

Deno.test("an ensure naming a disk file that does not exist in the zone is 500", async () => {
  await withFake({}, async (fake) => {
    const r = await fake.request("PUT", "/instance", ensureBody("vm0", true));
    assertEquals(r.status, 500);
    assertEquals((await fake.request("GET", "/instance")).status, 424);
  });
});

Deno.test("Run and Stop go Creating, Starting, Running, Stopping, Stopped, Destroyed", async () => {
  await withFake({}, async (fake) => {
    await ensure(fake);
    assertEquals((await fake.request("PUT", "/instance/state", "Run")).status, 204);
    const running = await waitForState(fake, "Running");
    assertEquals((await fake.request("PUT", "/instance/state", "Stop")).status, 204);
    const destroyed = await waitForState(fake, "Destroyed", running.gen + 1);
    assertEquals(statesEntered(fake), [
      "Starting",
      "Running",
      "Stopping",
      "Stopped",
      "Destroyed",
    ]);
    assertEquals(destroyed.gen, 6);

    const run = await fake.request("PUT", "/instance/state", "Run");
    assertEquals(run.status, 403);
    assertEquals(run.json(), {
      request_id: (run.json() as Record<string, string>).request_id,
      message: "Forbidden",
      error_code: "instance state change not allowed: Instance has already halted",
    });
    const beyond = await fake.request("GET", "/instance/state-monitor", { gen: 7 });
    assertEquals(beyond.status, 410);
    assertEquals(
      (beyond.json() as Record<string, string>).message,
      "No instance present; will never reach generation 7",
    );
  });
});

Deno.test("Reboot of a running instance goes through Rebooting back to Running", async () => {
  await withFake({}, async (fake) => {
    await ensure(fake);
    const early = await fake.request("PUT", "/instance/state", "Reboot");
    assertEquals(early.status, 403);
    await fake.request("PUT", "/instance/state", "Run");
    const running = await waitForState(fake, "Running");
    assertEquals((await fake.request("PUT", "/instance/state", "Reboot")).status, 204);
    await waitForState(fake, "Running", running.gen + 1);
    assertEquals(statesEntered(fake), ["Starting", "Running", "Rebooting", "Running"]);
  });
});

Deno.test("the serial websocket sends the guest's output as binary frames and echoes input", async () => {
  await withFake({}, async (fake) => {
    await ensure(fake);
    await fake.request("PUT", "/instance/state", "Run");
    await waitForState(fake, "Running");
    const ws = new WebSocket(`ws://${fake.listen}/instance/serial?from_start=0`, {
      headers: { "api-version": "5.0.0" },
    });
    ws.binaryType = "arraybuffer";
    let text = "";
    const seen = (part: string) =>
      new Promise<void>((resolve, reject) => {
        ws.onmessage = (ev) => {
          if (!(ev.data instanceof ArrayBuffer)) reject(new Error("a text frame"));
          text += new TextDecoder().decode(ev.data);
          if (text.includes(part)) resolve();
        };
      });
    try {
      await seen("vm0 login: ");
      assertStringIncludes(text, "fake propolis guest vm0: 2 vCPU, 2048 MiB\r\n");
      const echoed = seen("typed\r");
      ws.send(new TextEncoder().encode("typed\r"));
      await echoed;
    } finally {
      const closed = new Promise((r) => (ws.onclose = r));
      ws.close();
      await closed;
    }
    const history = await fake.request("GET", "/instance/serial/history?most_recent=6");
    const { data, last_byte_offset } = history.json() as {
      data: number[];
      last_byte_offset: number;
    };
    assertEquals(new TextDecoder().decode(new Uint8Array(data)), "typed\r");
    assertEquals(last_byte_offset, new TextEncoder().encode(text).length);
  });
});

Deno.test("the request record holds each request's address, method, path, headers and body", async () => {
  await withFake({}, async (fake) => {
    await ensure(fake);
    const ensureCall = (await fake.recorded()).at(-1)!;
    assertEquals(ensureCall.listen, fake.listen);
    assertEquals((await fake.recorded())[0].path, "/instance", "the wait for the server is in it");
    assertEquals(ensureCall.method, "PUT");
    assertEquals(ensureCall.path, "/instance");
    assertEquals((ensureCall.headers as Record<string, string>)["api-version"], "5.0.0");
    assertEquals(ensureCall.body, ensureBody());
  });
});

Deno.test("fault unreachable: the server exits 1 without listening", async () => {
  const fake = await startFakePropolis({ faults: ["unreachable"] });
  const status = await fake.stop();
  assertEquals(status.code, 1);
  assertStringIncludes(fake.log(), "/dev/vmm");
});

Deno.test("fault ensure:409 answers the first ensure with 409", async () => {
  await withFake({ faults: ["ensure:409"] }, async (fake) => {
    assertEquals((await fake.request("PUT", "/instance", ensureBody())).status, 409);
  });
});

Deno.test("fault ensure:500 answers the ensure with 500 and creates no instance", async () => {
  await withFake({ faults: ["ensure:500"] }, async (fake) => {
    assertEquals((await fake.request("PUT", "/instance", ensureBody())).status, 500);
    assertEquals((await fake.request("GET", "/instance")).status, 424);
  });
});

Deno.test("fault NAME/run:500 answers Run with 500 for that instance only", async () => {
  await withFake({ faults: ["web/run:500"] }, async (fake) => {
    await ensure(fake, ensureBody("web"));
    assertEquals((await fake.request("PUT", "/instance/state", "Run")).status, 500);
    const got = await fake.request("GET", "/instance");
    assertEquals((got.json() as { instance: { state: string } }).instance.state, "Creating");
  });
  await withFake({ faults: ["web/run:500"] }, async (fake) => {
    await ensure(fake, ensureBody("db"));
    assertEquals((await fake.request("PUT", "/instance/state", "Run")).status, 204);
  });
});

Deno.test("fault run:503 answers state changes with 503 while initializing", async () => {
  await withFake({ faults: ["run:503"] }, async (fake) => {
    await ensure(fake);
    const r = await fake.request("PUT", "/instance/state", "Run");
    assertEquals(r.status, 503);
  });
});

Deno.test("fault stuck-starting: Run never reaches Running, Stop still ends the instance", async () => {
  await withFake({ faults: ["stuck-starting"] }, async (fake) => {
    await ensure(fake);
    await fake.request("PUT", "/instance/state", "Run");
    const starting = await waitForState(fake, "Starting");
    await new Promise((r) => setTimeout(r, 500));
    const got = await fake.request("GET", "/instance");
    assertEquals((got.json() as { instance: { state: string } }).instance.state, "Starting");
    await fake.request("PUT", "/instance/state", "Stop");
    await waitForState(fake, "Destroyed", starting.gen + 1);
  });
});

Deno.test("fault die-after-run: the server exits 1 after reaching Running", async () => {
  await withFake({ faults: ["die-after-run"] }, async (fake) => {
    await ensure(fake);
    await fake.request("PUT", "/instance/state", "Run");
    await waitForState(fake, "Running");
    assertEquals((await fake.child.status).code, 1);
  });
});

/** Run a command; its exit code and output. */
async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Run ssh until the connection is (`up`) or is not (`!up`) accepted by a server; the last try. */
async function sshOnceServing(args: string[], up: boolean) {
  for (let i = 0;; i++) {
    const r = await run("ssh", args);
    const refused = r.code === 255 && /refused/.test(r.stderr);
    if (refused !== up || i === 200) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

Deno.test("the guest serves SSH for the seed's user and key on the seed's address until Stop", async () => {
  const address = "127.77.0.41";
  const port = freePortOn(address);
  const env = { FAKE_PROPOLIS_GUEST_SSH: String(port) };
  await withFake({ address, env }, async (fake, root) => {
    const work = join(root, "work");
    await Deno.mkdir(work, { mode: 0o700 });
    const netConfig = join(work, "network-config");
    await Deno.writeTextFile(
      netConfig,
      `version: 2\nethernets:\n  net0:\n    addresses: ["${address}/24"]\n`,
    );
    const seed = await writeVmSeed({
      workDir: work,
      vmName: "web",
      instanceId: "iid-web",
      cloudInit: { networkConfigPath: netConfig },
      sshUser: "vm",
    });
    await Deno.mkdir(join(root, "var/vmctl"), { recursive: true });
    await Deno.copyFile(seed.seedIsoPath, join(root, SEED));
    await ensure(fake, ensureBody("web", true));
    await fake.request("PUT", "/instance/state", "Run");
    const running = await waitForState(fake, "Running");

    const ssh = [
      ...["-F", "/dev/null", "-i", seed.generatedPrivateKey!, "-o", "IdentitiesOnly=yes"],
      ...["-o", "BatchMode=yes", "-o", `HostKeyAlias=${seed.hostKeyAlias}`],
      ...["-o", `UserKnownHostsFile=${seed.knownHostsPath}`, "-o", "StrictHostKeyChecking=yes"],
      ...["-o", "ConnectTimeout=10", "-p", String(port), `vm@${address}`, 'echo "$USER"'],
    ];
    const login = await sshOnceServing(ssh, true);
    assertEquals(login.code, 0, `${login.stderr}\n${fake.log()}`);
    assertEquals(login.stdout, "vm\n");
    const passwd = await Deno.readTextFile("/etc/passwd");
    assert(!passwd.split("\n").some((l) => l.startsWith("vm:")), "the host's passwd is unchanged");

    await fake.request("PUT", "/instance/state", "Stop");
    await waitForState(fake, "Destroyed", running.gen + 1);
    const after = await sshOnceServing(ssh, false);
    assertStringIncludes(after.stderr, "refused");
  });
});

Deno.test("the command line is the real one: bad usage exits 2, a missing bootrom exits 1", async () => {
  const server = join(PROPOLIS_BIN_DIR, "propolis-server");
  const env = { FAKE_ILLUMOS_DENO: Deno.execPath() };
  const usage = await new Deno.Command(server, { args: ["run", "/x"], env, stderr: "piped" })
    .output();
  assertEquals(usage.code, 2);
  assertStringIncludes(new TextDecoder().decode(usage.stderr), "Usage: propolis-server run");
  const missing = await new Deno.Command(server, {
    args: ["run", "/no/such/OVMF_CODE.fd", "127.0.0.1:12400", "--log-level", "info"],
    env,
    stderr: "piped",
  }).output();
  assertEquals(missing.code, 1);
  assertStringIncludes(new TextDecoder().decode(missing.stderr), "/no/such/OVMF_CODE.fd");
});
