/**
 * vmctl's propolis-server client against the fake server (fixtures/propolis),
 * which validates every body against the API 5.0.0 spec: the ensure body vmctl
 * builds is accepted, the state monitor is followed, and each error status
 * and a server that does not answer become their diagnostics.
 *
 * @module
 */
import { join } from "node:path";
import { assertEquals, assertRejects } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { ensureRequest } from "../../lib/propolis/ensure.ts";
import { PropolisClient } from "../../backends/propolis/client.ts";
import { freePortOn, startFakePropolis } from "../../fixtures/propolis/mod.ts";

/** A zone root and device root holding the files an ensure names. */
async function zoneFiles(): Promise<{ root: string; devRoot: string; cleanup(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-propolis-client-" });
  const root = join(dir, "root");
  const devRoot = join(dir, "dev");
  await Deno.mkdir(join(root, "var/vmctl"), { recursive: true });
  await Deno.writeFile(join(root, "var/vmctl/seed.iso"), new Uint8Array(2048));
  await Deno.mkdir(join(devRoot, "dev/zvol/rdsk/rpool/vmctl/vms"), { recursive: true });
  await Deno.writeFile(join(devRoot, "dev/zvol/rdsk/rpool/vmctl/vms/web"), new Uint8Array(4096));
  return { root, devRoot, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

const body = () =>
  ensureRequest({
    name: "web",
    instanceUuid: crypto.randomUUID(),
    interfaceUuid: crypto.randomUUID(),
    vcpus: 2,
    memoryMb: 1024,
    diskDataset: "rpool/vmctl/vms/web",
    seed: true,
    guestVnic: "web_g0",
  });

async function withServer(
  faults: string[],
  fn: (client: PropolisClient) => Promise<void>,
): Promise<void> {
  const files = await zoneFiles();
  const server = await startFakePropolis({ faults, root: files.root, devRoot: files.devRoot });
  try {
    await fn(new PropolisClient(server.listen, "web"));
  } finally {
    await server.stop();
    await files.cleanup();
  }
}

async function code(p: Promise<unknown>): Promise<string> {
  const err = await assertRejects(() => p);
  return err instanceof Diagnostic ? err.code : String(err);
}

Deno.test("the ensure body vmctl sends is valid API 5.0.0 and the instance runs and stops", async () => {
  await withServer([], async (c) => {
    assertEquals(await c.instanceState(), null);
    await c.ensure(body());
    await c.requestState("Run");
    assertEquals(await c.waitForState(["Running"], 10_000), "Running");
    await c.requestState("Stop");
    assertEquals(await c.waitForState(["Stopped", "Destroyed"], 10_000), "Stopped");
  });
});

Deno.test("each refusal of the server is its own diagnostic", async () => {
  await withServer([], async (c) => {
    assertEquals(await code(c.requestState("Run")), "vmctl::propolis::no_instance");
    await c.ensure(body());
    assertEquals(await code(c.ensure(body())), "vmctl::propolis::already_initialized");
    await c.requestState("Stop");
    await c.waitForState(["Destroyed"], 10_000);
    assertEquals(await code(c.requestState("Run")), "vmctl::propolis::state_forbidden");
  });
  await withServer(["ensure:500"], async (c) => {
    assertEquals(await code(c.ensure(body())), "vmctl::propolis::server_error");
  });
  await withServer(["run:503"], async (c) => {
    await c.ensure(body());
    assertEquals(await code(c.requestState("Run")), "vmctl::propolis::initializing");
  });
});

Deno.test("an instance stuck starting ends the wait with a timeout diagnostic", async () => {
  await withServer(["stuck-starting"], async (c) => {
    await c.ensure(body());
    await c.requestState("Run");
    assertEquals(await code(c.waitForState(["Running"], 1_500)), "vmctl::propolis::timeout");
  });
});

Deno.test("a server that does not answer is unreachable, with a hint", async () => {
  const c = new PropolisClient(`127.0.0.1:${freePortOn("127.0.0.1")}`, "web");
  assertEquals(await code(c.waitUp(500)), "vmctl::propolis::unreachable");
  assertEquals(await code(c.instanceState()), "vmctl::propolis::unreachable");
});
