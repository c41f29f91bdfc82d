// SSH readiness against a real OpenSSH sshd on 127.0.0.1: a late server is
// waited for, and a timeout names its stage (tcp, banner, login) wherever
// the budget runs out. Assertions are about order and budgets, never about
// how fast this machine is.
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { waitForSsh } from "../../backends/ssh/readiness.ts";
import { closeMaster } from "../../backends/ssh/exec.ts";
import type { SshTarget } from "../../backends/ssh/args.ts";
import { sshFixture } from "./ssh_fixture.ts";

async function rejects(p: Promise<unknown>): Promise<Diagnostic> {
  try {
    await p;
  } catch (err) {
    if (err instanceof Diagnostic) return err;
    throw err;
  }
  throw new Error("expected a Diagnostic");
}

Deno.test("readiness waits for an sshd that starts late and passes its stages in order", async () => {
  const fx = await sshFixture();
  try {
    const port = await fx.freePort();
    const stagesAt: Record<string, number> = {};
    const waiting = waitForSsh(fx.target(port), {
      timeoutMs: 60_000,
      onStage: (s) => (stagesAt[s] = performance.now()),
    });
    await new Promise((r) => setTimeout(r, 1200));
    const spawnedAt = performance.now();
    const sshd = await fx.startSshd(port);
    try {
      const r = await waiting;
      assert(stagesAt.banner >= spawnedAt, "no banner before sshd ran");
      assert(r.stages.tcp! <= r.stages.banner! && r.stages.banner! <= r.stages.login!);
      assert(r.elapsedMs < 60_000, "within the budget");
      assertStringIncludes(r.banner, "SSH-2.0-OpenSSH");
    } finally {
      await sshd.stop();
    }
  } finally {
    await fx.cleanup();
  }
});

Deno.test("a port that accepts TCP but never speaks SSH times out at the banner stage", async () => {
  const fx = await sshFixture();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c); // accept, then say nothing
  })();
  try {
    const consoleLog = join(fx.dir, "console.log");
    await Deno.writeTextFile(
      consoleLog,
      Array.from({ length: 30 }, (_, i) => `boot line ${i + 1}`).join("\n") + "\n",
    );
    const port = (listener.addr as Deno.NetAddr).port;
    const t0 = performance.now();
    const d = await rejects(waitForSsh(fx.target(port), { timeoutMs: 1500, consoleLog }));
    const waited = performance.now() - t0;
    assertEquals(d.code, "vmctl::ssh::not_ready");
    assertStringIncludes(d.message, "stage `banner`");
    assert(waited >= 1500, `gave up after ${waited} ms, before the 1.5 s budget`);
    // The console's last 20 lines are shown, the earlier ones are not.
    assertEquals(d.details.includes("boot line 30"), true);
    assertEquals(d.details.includes("boot line 11"), true);
    assertEquals(d.details.includes("boot line 10"), false);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
    await fx.cleanup();
  }
});

Deno.test("a banner that comes seconds after each connection is still seen", async () => {
  const fx = await sshFixture();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const timers: ReturnType<typeof setTimeout>[] = [];
  const accepting = (async () => {
    for await (const c of listener) {
      held.push(c);
      // a starved guest's sshd: the identification line only after 4 s, on every connection
      timers.push(setTimeout(() => {
        c.write(new TextEncoder().encode("SSH-2.0-slow\r\n")).catch(() => {});
      }, 4000));
    }
  })();
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const r = await waitForSsh(fx.target(port), { timeoutMs: 20_000, skipLogin: true });
    assertEquals(r.banner, "SSH-2.0-slow");
  } finally {
    timers.forEach(clearTimeout);
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
    await fx.cleanup();
  }
});

Deno.test("a closed port times out at the tcp stage, naming it", async () => {
  const fx = await sshFixture();
  try {
    const d = await rejects(waitForSsh(fx.target(await fx.freePort()), { timeoutMs: 600 }));
    assertStringIncludes(d.message, "stage `tcp`");
  } finally {
    await fx.cleanup();
  }
});

Deno.test("a refused key times out at the login stage, naming it", async () => {
  const fx = await sshFixture();
  const port = await fx.freePort();
  const sshd = await fx.startSshd(port);
  try {
    const stranger = await fx.newKey("stranger");
    const t: SshTarget = { ...fx.target(port), keyPath: stranger };
    const d = await rejects(waitForSsh(t, { timeoutMs: 10_000 }));
    assertStringIncludes(d.message, "stage `login`");
    assert(d.details.some((l) => l.includes("Permission denied")), d.details.join("\n"));
  } finally {
    await sshd.stop();
    await fx.cleanup();
  }
});

Deno.test("a budget that runs out inside a login attempt still names the login stage", async () => {
  const fx = await sshFixture();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) {
      held.push(c); // says its banner, then nothing: ssh waits for the key exchange
      await c.write(new TextEncoder().encode("SSH-2.0-OpenSSH_9.2 stalled\r\n")).catch(() => {});
    }
  })();
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    // The budget leaves a busy machine time to reach the login stage; the server never finishes it.
    const d = await rejects(waitForSsh(fx.target(port), { timeoutMs: 5_000 }));
    assertEquals(d.code, "vmctl::ssh::not_ready");
    assertStringIncludes(d.message, "stage `login`");
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
    await fx.cleanup();
  }
});

Deno.test("a host key that differs from the VM's known_hosts fails at once, not at the timeout", async () => {
  const fx = await sshFixture();
  const port = await fx.freePort();
  const sshd = await fx.startSshd(port);
  try {
    const other = await fx.newKey("other-host");
    const kh = join(fx.dir, "wrong_known_hosts");
    const pub = (await Deno.readTextFile(`${other}.pub`)).split(" ").slice(0, 2).join(" ");
    await Deno.writeTextFile(kh, `vmctl-fixture ${pub}\n`);
    const t0 = performance.now();
    const d = await rejects(
      waitForSsh({ ...fx.target(port), knownHostsPath: kh }, { timeoutMs: 60_000 }),
    );
    assertEquals(d.code, "vmctl::ssh::host_key_mismatch");
    assert(performance.now() - t0 < 30_000, "did not wait for the whole budget");
  } finally {
    await sshd.stop();
    await fx.cleanup();
  }
});

Deno.test("a live shared connection makes the wait immediate", async () => {
  const fx = await sshFixture();
  const sshd = await fx.startSshd(await fx.freePort());
  const t = { ...fx.target(sshd.port), controlPath: join(fx.dir, "ssh.mux") };
  try {
    await waitForSsh(t, { timeoutMs: 60_000 }); // this login becomes the shared connection
    const r = await waitForSsh(t, { timeoutMs: 60_000 });
    assertEquals(r.banner, "(shared connection)");
  } finally {
    await closeMaster(t);
    await sshd.stop();
    await fx.cleanup();
  }
});

Deno.test("a VM that dies while booting ends the wait at once, not at the timeout", async () => {
  const fx = await sshFixture();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of listener) held.push(c); // like QEMU's forwarder: accepts, says nothing
  })();
  try {
    const diedAt = performance.now() + 500;
    const t0 = performance.now();
    const d = await rejects(waitForSsh(fx.target((listener.addr as Deno.NetAddr).port), {
      timeoutMs: 60_000,
      vmGone: () =>
        Promise.resolve(performance.now() > diedAt ? "it is stopped (QEMU exited)" : undefined),
    }));
    assertEquals(d.code, "vmctl::ssh::vm_gone");
    assertStringIncludes(d.message, "QEMU exited");
    assert(performance.now() - t0 < 30_000, "ended long before the 60 s budget");
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
    await fx.cleanup();
  }
});
