/**
 * `deno task bench readiness`: how soon vmctl notices that an SSH server has
 * come up, compared with the polling schedules of the peers, in the same run.
 *
 * Method: a real OpenSSH sshd is started on a free 127.0.0.1 port after a
 * random delay (0.4-1.4 s) while the waiter polls. An oracle connects every
 * 2 ms to timestamp the moment sshd accepts. Reported per policy: detection
 * latency = ready declared - sshd accepting (median and max over N runs).
 *
 * Policies (the peers' schedules as documented in upstream-vmctl-facts.md and
 * peers.md, each declaring ready on a successful `ssh true` login):
 * - vmctl: staged tcp -> banner -> login, 100 ms polls, staggered banner probes;
 * - upstream vmctl: login attempts with 1, 2, 4, 5, 5 ... s back-off;
 * - Lima: a login attempt every 3 s.
 *
 * @module
 */
import { join } from "node:path";
import { waitForSsh } from "../../backends/ssh/readiness.ts";
import { sshArgv, type SshTarget } from "../../backends/ssh/args.ts";
import { runSsh } from "../../backends/ssh/exec.ts";
import { freePort, startSshd } from "../../tests/helpers/sshd.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 7);

async function keygen(path: string) {
  const r = await new Deno.Command("ssh-keygen", {
    args: ["-q", "-t", "ed25519", "-N", "", "-f", path],
  }).output();
  if (!r.success) throw new Error("ssh-keygen failed");
}

type Policy = (t: SshTarget) => Promise<void>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function loginOk(t: SshTarget): Promise<boolean> {
  return (await runSsh([...sshArgv(t, { connectTimeoutS: 5 }), "true"], { timeoutMs: 10_000 }))
    .code === 0;
}

const policies: Record<string, Policy> = {
  "vmctl (staged, 100 ms)": async (t) => {
    await waitForSsh(t, { timeoutMs: 30_000 });
  },
  "upstream vmctl (1-5 s back-off)": async (t) => {
    let delay = 1000;
    while (!(await loginOk(t))) {
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  },
  "Lima (3 s poll)": async (t) => {
    while (!(await loginOk(t))) await sleep(3000);
  },
};

/** Timestamp (performance.now) of the first accepted TCP connection on `port`. */
async function acceptOracle(port: number, stop: () => boolean): Promise<number | undefined> {
  while (!stop()) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
    if (c) {
      const at = performance.now();
      c.close();
      return at;
    }
    await sleep(2);
  }
  return undefined;
}

const dir = await Deno.makeTempDir({ prefix: "vmctl-bench-ready-" });
try {
  const hostKey = join(dir, "host");
  const clientKey = join(dir, "client");
  await keygen(hostKey);
  await keygen(clientKey);
  await Deno.copyFile(`${clientKey}.pub`, join(dir, "authorized_keys"));
  const hostPub = (await Deno.readTextFile(`${hostKey}.pub`)).split(" ").slice(0, 2).join(" ");
  await Deno.writeTextFile(join(dir, "known_hosts"), `vmctl-bench ${hostPub}\n`);
  const user = (await import("node:os")).userInfo().username;

  // One login against a running sshd: the floor every policy pays once.
  const port0 = freePort();
  const sshd0 = await startSshd({
    hostKeyPath: hostKey,
    authorizedKeysPath: join(dir, "authorized_keys"),
    port: port0,
  });
  const target = (port: number): SshTarget => ({
    host: "127.0.0.1",
    port,
    user,
    keyPath: clientKey,
    knownHostsPath: join(dir, "known_hosts"),
    hostKeyAlias: "vmctl-bench",
    hostKeyPolicy: "strict",
  });
  const floor: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await loginOk(target(port0));
    floor.push(performance.now() - t0);
  }
  await sshd0.stop();

  const results: Record<string, number[]> = {};
  for (let run = 0; run < RUNS; run++) {
    for (const [name, policy] of Object.entries(policies)) {
      const port = freePort();
      let done = false;
      const oracle = acceptOracle(port, () => done);
      const t0 = performance.now();
      const waiting = policy(target(port)).then(() => performance.now());
      await sleep(400 + Math.random() * 1000);
      const sshd = await startSshd({
        hostKeyPath: hostKey,
        authorizedKeysPath: join(dir, "authorized_keys"),
        port,
      });
      const readyAt = await waiting;
      done = true;
      const acceptAt = (await oracle) ?? t0;
      await sshd.stop();
      (results[name] ??= []).push(readyAt - acceptAt);
    }
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ms = (x: number) => `${(x / 1000).toFixed(3)} s`;
  const base = median(results["vmctl (staged, 100 ms)"]);
  console.log(
    `machine: ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, ` +
      `load ${Deno.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${RUNS} runs per policy`,
  );
  console.log(`one key login against a running sshd (floor): median ${ms(median(floor))}\n`);
  console.log("| policy | accept -> ready, median | max | ratio to vmctl |");
  console.log("|---|---|---|---|");
  for (const [name, xs] of Object.entries(results)) {
    console.log(
      `| ${name} | ${ms(median(xs))} | ${ms(Math.max(...xs))} | ${
        (median(xs) / base).toFixed(2)
      } |`,
    );
  }
  console.log(
    `\nvmctl detection overhead beyond one login: ~${
      ms(base - median(floor))
    } (target: notice within 0.3 s)`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
