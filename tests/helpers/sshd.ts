/**
 * A real OpenSSH server for tests: `/usr/sbin/sshd -D -e -f CONFIG` as a
 * child process on 127.0.0.1 (or another loopback address), with its own
 * config, the given host key and authorized_keys file, public-key
 * authentication only.
 *
 * ```ts
 * const sshd = await startSshd({ hostKeyPath, authorizedKeysPath });
 * try { ... ssh -p sshd.port root@127.0.0.1 ... } finally { await sshd.stop(); }
 * ```
 *
 * @module
 */
import { join } from "node:path";

export interface SshdOptions {
  /** Private host key file (0600). */
  hostKeyPath: string;
  /** authorized_keys used for every user. */
  authorizedKeysPath: string;
  /** Port to listen on (default: a free one). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  address?: string;
  /** argv that runs the sshd command line given after it (e.g. in a private namespace). */
  launcher?: string[];
}

export interface Sshd {
  port: number;
  /** Everything sshd logged so far (it runs with -e). */
  log(): string;
  stop(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that is free right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitForPort(
  hostname: string,
  port: number,
  child: Deno.ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.status.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const c = await Deno.connect({ hostname, port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(exited ? "sshd exited during start-up" : `sshd did not listen on ${port}`);
}

/** Start sshd; stop() kills it and removes its config dir. */
export async function startSshd(o: SshdOptions): Promise<Sshd> {
  // sshd refuses to start without its privilege separation directory.
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = await Deno.makeTempDir({ prefix: "vmctl-sshd-" });
  const port = o.port ?? freePort();
  const address = o.address ?? "127.0.0.1";
  const config = join(dir, "sshd_config");
  await Deno.writeTextFile(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${address}`,
      `HostKey ${o.hostKeyPath}`,
      `AuthorizedKeysFile ${o.authorizedKeysPath}`,
      "PidFile none",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const [command, ...args] = [...(o.launcher ?? []), "/usr/sbin/sshd", "-D", "-e", "-f", config];
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) log += dec.decode(chunk);
  })();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
    await reading.catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitForPort(address, port, child, 30_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return { port, log: () => log, stop };
}
