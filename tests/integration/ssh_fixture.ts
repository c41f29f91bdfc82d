/**
 * A throw-away SSH world for the ssh/provisioning integration tests: a temp
 * dir with a host key, a client key, authorized_keys, a known_hosts holding
 * the host key under the alias `vmctl-fixture`, and real OpenSSH sshd
 * processes (tests/helpers/sshd.ts) started on demand on 127.0.0.1.
 *
 * @module
 */
import { join } from "node:path";
import { userInfo } from "node:os";
import type { SshTarget } from "../../backends/ssh/args.ts";
import { freePort, type Sshd, startSshd } from "../helpers/sshd.ts";

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
  const user = userInfo().username;
  const running = new Set<Sshd>();

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
    freePort: () => Promise.resolve(freePort()),
    async startSshd(port) {
      const sshd = await startSshd({
        hostKeyPath: hostKey,
        authorizedKeysPath: join(dir, "authorized_keys"),
        port,
      });
      running.add(sshd);
      return {
        port: sshd.port,
        stop: async () => {
          if (running.delete(sshd)) await sshd.stop();
        },
      };
    },
    async newKey(name) {
      const path = join(dir, name);
      await keygen(path);
      return path;
    },
    async cleanup() {
      for (const sshd of [...running]) {
        running.delete(sshd);
        await sshd.stop();
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}
