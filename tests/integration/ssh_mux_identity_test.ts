/**
 * A shared SSH connection (ControlMaster) is only ever reused by the same
 * identity: user, key and host-key alias. A master logged in as one user
 * must never run a command asked for as another user, or with another key;
 * stopping the VM closes every master.
 */
import { join } from "node:path";
import { assert, assertEquals, assertNotEquals } from "../helpers/assert.ts";
import { controlPathFor, type SshTarget } from "../../backends/ssh/args.ts";
import { streamSsh } from "../../backends/ssh/exec.ts";
import { sshTargetFor } from "../../backends/ssh/mod.ts";
import { qemuBackend } from "../../backends/qemu/mod.ts";
import { createRunner } from "../../backends/exec.ts";
import { dataPaths } from "../../lib/paths.ts";
import type { VmRecord } from "../../lib/types.ts";
import { type SshFixture, sshFixture } from "./ssh_fixture.ts";

const text = (chunks: Uint8Array[]) =>
  new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));

async function run(t: SshTarget, cmd: string): Promise<{ code: number; out: string }> {
  const out: Uint8Array[] = [];
  const r = await streamSsh(t, cmd, { onStdout: (c) => out.push(c), timeoutMs: 30_000 });
  return { code: r.code, out: text(out) };
}

/** A target of the fixture's sshd that shares connections like vmctl does. */
async function shared(fx: SshFixture, t: SshTarget): Promise<SshTarget> {
  return { ...t, controlPath: await controlPathFor(fx.dir, t) };
}

async function sockets(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".mux")) names.push(e.name);
  return names;
}

function vmRecord(workDir: string, port: number): VmRecord {
  return {
    id: "mux-test",
    name: "fixture",
    backend: "qemu",
    state: "running",
    work_dir: workDir,
    vcpus: 1,
    memory_mb: 256,
    network: { type: "user" },
    ssh_host_port: port,
    known_hosts: join(workDir, "known_hosts"),
    created_at: new Date(0).toISOString(),
  };
}

const ctx = () => ({ paths: dataPaths(), runner: createRunner() });

Deno.test("vmctl gives each user, key and host-key alias its own shared connection", async () => {
  const fx = await sshFixture();
  try {
    const other = await fx.newKey("other_ed25519");
    const vm = vmRecord(fx.dir, 2222);
    const path = async (o: { cliUser: string; cliKey: string }, name = vm.name) =>
      (await sshTargetFor({ ...vm, name }, ctx(), o)).target.controlPath;
    const alice = await path({ cliUser: "alice", cliKey: fx.clientKey });
    assert(alice !== undefined && alice.length <= 104, `control path ${alice}`);
    assertEquals(await path({ cliUser: "alice", cliKey: fx.clientKey }), alice);
    assertNotEquals(await path({ cliUser: "bob", cliKey: fx.clientKey }), alice);
    assertNotEquals(await path({ cliUser: "alice", cliKey: other }), alice);
    assertNotEquals(await path({ cliUser: "alice", cliKey: fx.clientKey }, "renamed"), alice);
  } finally {
    await fx.cleanup();
  }
});

Deno.test("a connection opened as one user is never used for another user", async () => {
  const fx = await sshFixture();
  try {
    const sshd = await fx.startSshd(await fx.freePort());
    const owner = await shared(fx, fx.target(sshd.port));
    const first = await run(owner, "id -un");
    assertEquals(first.code, 0);
    assertEquals((await sockets(fx.dir)).length, 1, "the owner's master runs");
    // sshd has no key for this user: only a reused connection could run the command.
    const stranger = await shared(fx, { ...fx.target(sshd.port), user: "nobody" });
    const r = await run(stranger, "id -un");
    assertNotEquals(r.out, first.out, "the stranger ran as the connection's owner");
    if (r.code === 0) assertEquals(r.out, "nobody\n");
    await qemuBackend.stop(vmRecord(fx.dir, sshd.port), 1000, ctx());
  } finally {
    await fx.cleanup();
  }
});

Deno.test("a connection opened with one key is never used for another key", async () => {
  const fx = await sshFixture();
  try {
    const sshd = await fx.startSshd(await fx.freePort());
    const owner = await shared(fx, fx.target(sshd.port));
    assertEquals((await run(owner, "true")).code, 0);
    // The other key is not authorized: only a reused connection could log in with it.
    const unauthorized = await shared(fx, { ...owner, keyPath: await fx.newKey("other") });
    assertNotEquals((await run(unauthorized, "true")).code, 0);
    await qemuBackend.stop(vmRecord(fx.dir, sshd.port), 1000, ctx());
  } finally {
    await fx.cleanup();
  }
});

Deno.test("stopping the VM closes the shared connection of every user", async () => {
  const fx = await sshFixture();
  try {
    const sshd = await fx.startSshd(await fx.freePort());
    const owner = await shared(fx, fx.target(sshd.port));
    assertEquals((await run(owner, "true")).code, 0);
    assertEquals((await sockets(fx.dir)).length, 1);
    const stopped = await qemuBackend.stop(vmRecord(fx.dir, sshd.port), 1000, ctx());
    assertEquals(stopped.state, "stopped");
    assertEquals(await sockets(fx.dir), []);
  } finally {
    await fx.cleanup();
  }
});
