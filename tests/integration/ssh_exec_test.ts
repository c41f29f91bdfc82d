// Exec and upload through the system ssh client against a real sshd.
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { closeMaster, sshUpload, streamSsh } from "../../backends/ssh/exec.ts";
import { shJoin } from "../../backends/ssh/args.ts";
import { type RunningSshd, type SshFixture, sshFixture } from "./ssh_fixture.ts";

async function withSshd(fn: (fx: SshFixture, sshd: RunningSshd) => Promise<void>) {
  const fx = await sshFixture();
  try {
    const sshd = await fx.startSshd(await fx.freePort());
    await fn(fx, sshd);
  } finally {
    await fx.cleanup();
  }
}

const text = (chunks: Uint8Array[]) =>
  new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));

Deno.test("exec streams stdout and stderr separately and returns the exit status", () =>
  withSshd(async (fx, sshd) => {
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    const r = await streamSsh(fx.target(sshd.port), "echo to-out; echo to-err >&2; exit 42", {
      onStdout: (c) => out.push(c),
      onStderr: (c) => err.push(c),
    });
    assertEquals(r.code, 42);
    assertEquals(text(out), "to-out\n");
    assertEquals(text(err), "to-err\n");
  }));

Deno.test("exec delivers output while the command is still running", () =>
  withSshd(async (fx, sshd) => {
    // The lines are 1.5 s apart: streamed output delivers them apart, buffered output as one.
    const chunks: string[] = [];
    const r = await streamSsh(fx.target(sshd.port), "echo early; sleep 1.5; echo late", {
      onStdout: (c) => chunks.push(new TextDecoder().decode(c)),
    });
    assertEquals(r.code, 0);
    assertEquals(chunks, ["early\n", "late\n"], "each line arrived as its own chunk");
  }));

Deno.test("upload keeps the local file's mode and bytes", () =>
  withSshd(async (fx, sshd) => {
    for (const mode of [0o640, 0o755, 0o600]) {
      const src = join(fx.dir, `src-${mode.toString(8)}`);
      const bytes = crypto.getRandomValues(new Uint8Array(60_000));
      await Deno.writeFile(src, bytes);
      await Deno.chmod(src, mode);
      const dest = join(fx.dir, `dest-${mode.toString(8)}`);
      await sshUpload(fx.target(sshd.port), src, dest);
      assertEquals((await Deno.stat(dest)).mode! & 0o7777, mode);
      assertEquals(await Deno.readFile(dest), bytes);
    }
  }));

Deno.test("upload to a hostile destination path writes exactly that path and runs nothing", () =>
  withSshd(async (fx, sshd) => {
    // The remote shell starts in the login directory: a command that ran would create this.
    const canary = `vmctl-pwned-${crypto.randomUUID()}`;
    const names = [
      `it's $(touch ${canary}) \`touch ${canary}\``,
      `-rf; touch ${canary} #`,
      `new\nline "dq" ;|&<>*?`,
    ];
    const src = join(fx.dir, "payload");
    await Deno.writeTextFile(src, "payload\n");
    for (const name of names) {
      const dest = join(fx.dir, name);
      await sshUpload(fx.target(sshd.port), src, dest);
      assertEquals(await Deno.readTextFile(dest), "payload\n");
    }
    const home = (await import("node:os")).homedir();
    assertEquals(await Deno.stat(join(home, canary)).then(() => true, () => false), false);
  }));

Deno.test("upload into a missing directory fails with the guest's message", () =>
  withSshd(async (fx, sshd) => {
    const src = join(fx.dir, "payload");
    await Deno.writeTextFile(src, "x");
    try {
      await sshUpload(fx.target(sshd.port), src, join(fx.dir, "no/such/dir/file"));
      throw new Error("expected a failure");
    } catch (err) {
      assert(err instanceof Diagnostic);
      assertEquals(err.code, "vmctl::ssh::upload_failed");
      assertStringIncludes(err.details.join("\n"), "No such file or directory");
    }
  }));

Deno.test("upload refuses a directory source before connecting", () =>
  withSshd(async (fx, sshd) => {
    try {
      await sshUpload(fx.target(sshd.port), fx.dir, "/tmp/x");
      throw new Error("expected a failure");
    } catch (err) {
      assert(err instanceof Diagnostic);
      assertEquals(err.code, "vmctl::ssh::upload_not_a_file");
    }
  }));

Deno.test("trust on first use records the key, then refuses a changed one", () =>
  withSshd(async (fx, sshd) => {
    const kh = join(fx.dir, "tofu_known_hosts");
    const t = { ...fx.target(sshd.port), knownHostsPath: kh, hostKeyPolicy: "tofu" as const };
    assertEquals((await streamSsh(t, "true")).code, 0);
    assertStringIncludes(await Deno.readTextFile(kh), "vmctl-fixture ssh-ed25519 ");
    // Now a different server (new host key) answers under the same alias.
    await Deno.writeTextFile(
      kh,
      (await Deno.readTextFile(kh)).replace(/AAAA\S+/, (k) => k.slice(0, -8) + "AAAAAAAA"),
    );
    const r = await streamSsh(t, "true");
    assertEquals(r.code, 255);
    assertStringIncludes(r.stderrTail, "IDENTIFICATION HAS CHANGED");
  }));

Deno.test("remote words quoted with shJoin reach the program unchanged", () =>
  withSshd(async (fx, sshd) => {
    const words = ["a b", "it's", "$HOME", "`id`", "-n", ""];
    const out: Uint8Array[] = [];
    const r = await streamSsh(fx.target(sshd.port), `printf '%s\\0' ${shJoin(words)}`, {
      onStdout: (c) => out.push(c),
    });
    assertEquals(r.code, 0);
    assertEquals(text(out).split("\0").slice(0, -1), words);
  }));

Deno.test("a shared connection serves later commands without a new login", async () => {
  const fx = await sshFixture();
  try {
    const sshd = await fx.startSshd(await fx.freePort());
    const t = { ...fx.target(sshd.port), controlPath: join(fx.dir, "ssh.mux") };
    try {
      assertEquals((await streamSsh(t, "true")).code, 0);
      assert((await Deno.stat(t.controlPath)).isSocket, "master socket created");
      // A new connection could not log in any more: only the shared one can serve.
      await Deno.rename(fx.clientKey, `${fx.clientKey}.moved`);
      const out: Uint8Array[] = [];
      const r = await streamSsh(t, "echo still-here", { onStdout: (c) => out.push(c) });
      assertEquals(r.code, 0);
      assertEquals(text(out), "still-here\n");
    } finally {
      await closeMaster(t);
    }
    assertEquals(await Deno.stat(t.controlPath).then(() => true, () => false), false);
  } finally {
    await fx.cleanup();
  }
});
