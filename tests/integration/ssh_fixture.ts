/**
 * A throw-away SSH world for the ssh/provisioning integration tests: a temp
 * dir with a host key, a client key, authorized_keys, a known_hosts holding
 * the host key under the alias `vmctl-fixture`, and real OpenSSH sshd
 * processes started on demand (as the current user, on 127.0.0.1).
 *
 * @module
 */
import { join } from "node:path";
import { userInfo } from "node:os";
import type { SshTarget } from "../../backends/ssh/args.ts";

export interface RunningSshd {
  port: number;
  stop(): Promise<void>;
}

export interface SshFixture {
  dir: string;
  clientKey: string;
  target(port: number): SshTarget;
  /** A port nothing listens on (bound once, then released). */
  freePort(): Promise<number>;
  /** Start sshd on `port`; resolves once it accepts connections. */
  startSshd(port: number): Promise<RunningSshd>;
  /** A new Ed25519 key pair in the fixture dir; returns the private key path. */
  newKey(name: string): Promise<string>;
  cleanup(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";

async function keygen(path: string): Promise<void> {
  const out = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-C", "vmctl-test", "-f", path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ssh-keygen failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** Build the fixture; call `cleanup()` in a finally block. */
export async function sshFixture(): Promise<SshFixture> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-ssh-" });
  const hostKey = join(dir, "host_ed25519");
  const clientKey = join(dir, "client_ed25519");
  await Promise.all([keygen(hostKey), keygen(clientKey)]);
  await Deno.copyFile(`${clientKey}.pub`, join(dir, "authorized_keys"));
  const hostPub = (await Deno.readTextFile(`${hostKey}.pub`)).split(" ").slice(0, 2).join(" ");
  await Deno.writeTextFile(join(dir, "known_hosts"), `vmctl-fixture ${hostPub}\n`);
  if (Deno.uid() === 0) await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const user = userInfo().username;
  const running = new Set<Deno.ChildProcess>();

  return {
    dir,
    clientKey,
    target: (port) => ({
      host: "127.0.0.1",
      port,
      user,
      keyPath: clientKey,
      knownHostsPath: join(dir, "known_hosts"),
      hostKeyAlias: "vmctl-fixture",
      hostKeyPolicy: "strict",
    }),
    freePort() {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (l.addr as Deno.NetAddr).port;
      l.close();
      return Promise.resolve(port);
    },
    async startSshd(port) {
      const cfg = join(dir, `sshd_config_${port}`);
      await Deno.writeTextFile(
        cfg,
        [
          `Port ${port}`,
          "ListenAddress 127.0.0.1",
          `HostKey ${hostKey}`,
          `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
          "PidFile none",
          "UsePAM no",
          "StrictModes no",
          "PermitRootLogin prohibit-password",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "LogLevel ERROR",
          "",
        ].join("\n"),
      );
      const child = new Deno.Command(SSHD, {
        args: ["-D", "-e", "-f", cfg],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      running.add(child);
      const stop = async () => {
        if (!running.delete(child)) return;
        try {
          child.kill("SIGTERM");
        } catch { /* exited */ }
        await child.status;
      };
      const deadline = performance.now() + 5000;
      for (;;) {
        const c = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
        if (c) {
          c.close();
          break;
        }
        if (performance.now() > deadline) {
          await stop();
          throw new Error(`sshd did not listen on ${port} within 5 s`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      return { port, stop };
    },
    async newKey(name) {
      const path = join(dir, name);
      await keygen(path);
      return path;
    },
    async cleanup() {
      for (const c of [...running]) {
        running.delete(c);
        try {
          c.kill("SIGTERM");
        } catch { /* exited */ }
        await c.status;
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}
