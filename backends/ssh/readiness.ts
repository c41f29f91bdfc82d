/**
 * Waiting for a guest's SSH server, in three stages, each with its own
 * timeout and named in the error when it does not finish:
 *
 * 1. `tcp`    — the port accepts a TCP connection;
 * 2. `banner` — an `SSH-` identification line arrives on it;
 * 3. `login`  — `ssh ... true` with the VM's key succeeds (host key checked).
 *
 * Polling is frequent (the original backs off to seconds, as Lima does) so a
 * ready guest is noticed at once (docs/benchmarks.md, ssh).
 * QEMU's user-mode forwarder accepts TCP even before the guest is up and then
 * drops the connection, so for those guests the wait happens in `banner`:
 * probes are staggered (a new one every poll interval, several in flight) so
 * a slow-to-answer attempt never delays noticing the banner.
 *
 * @module
 */
import { deadline as settleWithin, sleep } from "../../lib/async.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { logTail } from "../../lib/files.ts";
import { log } from "../../lib/log.ts";
import { sshArgv, type SshTarget } from "./args.ts";
import { runSsh } from "./exec.ts";
import { host } from "../../host/mod.ts";
import type { Conn } from "../../host/mod.ts";

export type ReadinessStage = "tcp" | "banner" | "login";

const STAGE_TEXT: Record<ReadinessStage, string> = {
  tcp: "the TCP port to accept connections",
  banner: "an SSH banner on the port",
  login: "a key login to succeed",
};

export interface ReadinessOptions {
  /** Overall budget (ms). Each stage also stops at this deadline. */
  timeoutMs: number;
  /** Per-stage budgets (ms), each capped by the overall deadline. */
  stageTimeoutMs?: Partial<Record<ReadinessStage, number>>;
  /** Poll interval (ms), default 100. */
  pollMs?: number;
  /** console.log of the VM: its last 20 lines are shown on timeout. */
  consoleLog?: string;
  /** Skip the login stage (banner is enough: e.g. benchmarks of the probe itself). */
  skipLogin?: boolean;
  /**
   * Checked every 2 s while waiting: resolves with a reason when the VM is gone (QEMU exited),
   * which ends the wait at once instead of at the timeout.
   */
  vmGone?: () => Promise<string | undefined>;
  /** Called when a stage completes (progress output, benchmarks). */
  onStage?: (stage: ReadinessStage, elapsedMs: number) => void;
}

export interface ReadinessResult {
  /** Total time waited (ms). */
  elapsedMs: number;
  /** When each stage finished, ms since the start. */
  stages: Partial<Record<ReadinessStage, number>>;
  /** The server's identification line, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7". */
  banner: string;
}

/** Wait until `target` accepts an SSH login; throws `vmctl::ssh::not_ready` naming the stage. */
export async function waitForSsh(t: SshTarget, o: ReadinessOptions): Promise<ReadinessResult> {
  const t0 = performance.now();
  const deadline = t0 + o.timeoutMs;
  const pollMs = o.pollMs ?? 100;
  const stages: ReadinessResult["stages"] = {};
  const stageDeadline = (s: ReadinessStage) =>
    Math.min(deadline, performance.now() + (o.stageTimeoutMs?.[s] ?? o.timeoutMs));
  const done = (s: ReadinessStage) => {
    stages[s] = performance.now() - t0;
    log.debug(`ssh readiness: ${s} after ${stages[s]!.toFixed(0)} ms`);
    o.onStage?.(s, stages[s]!);
  };

  // A live shared connection (see SshTarget.controlPath) answers without a new handshake.
  if (t.controlPath && !o.skipLogin && isSocket(t.controlPath)) {
    // As long as a normal login attempt: on a busy host a live master can take seconds to answer.
    const r = await loginOnce(t, Math.min(10_000, o.timeoutMs));
    if (r.ok) {
      for (const s of ["tcp", "banner", "login"] as const) done(s);
      return { elapsedMs: performance.now() - t0, stages, banner: "(shared connection)" };
    }
  }

  const stop = new AbortController();
  let goneReason: string | undefined;
  const watchdog = o.vmGone &&
    setInterval(async () => {
      const reason = await o.vmGone!().catch(() => undefined);
      if (reason && !stop.signal.aborted) {
        goneReason = reason;
        stop.abort();
      }
    }, 2000);
  const gone = () => goneReason !== undefined;
  try {
    let end = stageDeadline("tcp");
    while (!(await tcpAccepts(t.host, t.port, end))) {
      if (gone()) throw await vmGoneError(t, goneReason!, o);
      if (performance.now() >= end) throw await notReady(t, "tcp", o, t0);
      await sleep(Math.min(pollMs, end - performance.now()));
    }
    done("tcp");

    end = stageDeadline("banner");
    const banner = await firstBanner(t.host, t.port, end, pollMs, stop.signal);
    if (gone()) throw await vmGoneError(t, goneReason!, o);
    if (banner === undefined) throw await notReady(t, "banner", o, t0);
    done("banner");

    if (!o.skipLogin) {
      end = stageDeadline("login");
      let last = "";
      for (;;) {
        if (gone()) throw await vmGoneError(t, goneReason!, o);
        const remaining = end - performance.now();
        if (remaining <= 0) throw await notReady(t, "login", o, t0, last);
        const r = await loginOnce(t, remaining);
        if (r.ok) break;
        if (r.hostKeyProblem) throw hostKeyError(t, r.stderr);
        if (r.stderr) last = r.stderr;
        await sleep(Math.min(pollMs, Math.max(0, end - performance.now())));
      }
      done("login");
    }
    return { elapsedMs: performance.now() - t0, stages, banner };
  } finally {
    if (watchdog !== undefined) clearInterval(watchdog);
  }
}

/** The VM went away while we waited: say so with its console's last lines. */
async function vmGoneError(t: SshTarget, reason: string, o: ReadinessOptions): Promise<Diagnostic> {
  const tail = o.consoleLog ? await logTail(o.consoleLog, 20) : undefined;
  return new Diagnostic(
    "vmctl::ssh::vm_gone",
    `the VM stopped while waiting for SSH on ${t.host}:${t.port}: ${reason}`,
    {
      hint:
        "the guest crashed or powered off during boot; see the console lines below (`vmctl log NAME --console`)",
      details: tail?.length ? [`last ${tail.length} lines of ${o.consoleLog}:`, ...tail] : [],
    },
  );
}

/** One TCP connect attempt, bounded by `deadline`. */
async function tcpAccepts(hostname: string, port: number, deadline: number): Promise<boolean> {
  const attempt = host.connectTcp(hostname, port);
  const conn = await settleWithin(attempt, deadline - performance.now()).catch(() => {
    attempt.then(closeQuietly, () => {}); // a connection that arrives late is not leaked
    return undefined;
  });
  if (!conn) return false;
  closeQuietly(conn);
  return true;
}

/**
 * How long one probe waits for the banner. A starved guest (TCG beside other
 * guests) needs many seconds to start sshd's per-connection process; a probe
 * that gives up sooner never sees a banner, and each one it abandons costs the
 * guest another start. A port that closes (nothing listens in the guest) ends
 * its probe at once, so a long wait delays nothing.
 */
export const BANNER_WAIT_MS = 30_000;

/**
 * Staggered banner probes: a new connection every `pollMs` (at most 4 open),
 * each waiting up to {@link BANNER_WAIT_MS} for the identification line.
 * Resolves with the first banner, or undefined at the deadline.
 */
function firstBanner(
  hostname: string,
  port: number,
  deadline: number,
  pollMs: number,
  signal?: AbortSignal,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const open = new Set<Conn>();
    let finished = false;
    let inFlight = 0;
    const finish = (banner: string | undefined) => {
      if (finished) return;
      finished = true;
      clearInterval(ticker);
      clearTimeout(stopper);
      for (const c of open) closeQuietly(c);
      resolve(banner);
    };
    const probe = async () => {
      if (finished || inFlight >= 4) return;
      inFlight++;
      try {
        const conn = await host.connectTcp(hostname, port).catch(() => undefined);
        if (!conn) return;
        if (finished) return closeQuietly(conn);
        open.add(conn);
        const line = await readBanner(conn, Math.min(deadline, performance.now() + BANNER_WAIT_MS));
        open.delete(conn);
        closeQuietly(conn);
        if (line !== undefined) finish(line);
      } finally {
        inFlight--;
      }
    };
    const ticker = setInterval(probe, pollMs);
    const stopper = setTimeout(() => finish(undefined), Math.max(0, deadline - performance.now()));
    signal?.addEventListener("abort", () => finish(undefined), { once: true });
    probe();
  });
}

/** Read until the first line starting with "SSH-" (servers may send other lines first). */
async function readBanner(conn: Conn, deadline: number): Promise<string | undefined> {
  const buf = new Uint8Array(1024);
  let text = "";
  const timer = setTimeout(() => closeQuietly(conn), Math.max(0, deadline - performance.now()));
  try {
    while (text.length < 8192) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return undefined;
      text += new TextDecoder().decode(buf.subarray(0, n));
      const line = text.split(/\r?\n/).slice(0, -1).find((l) => l.startsWith("SSH-"));
      if (line) return line;
    }
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

async function loginOnce(
  t: SshTarget,
  remainingMs: number,
): Promise<{ ok: boolean; hostKeyProblem: boolean; stderr: string }> {
  const argv = [
    ...sshArgv(t, { connectTimeoutS: Math.max(1, Math.min(10, Math.ceil(remainingMs / 1000))) }),
    "true",
  ];
  let r: { code: number; stderr: string };
  try {
    r = await runSsh(argv, { timeoutMs: Math.max(1000, remainingMs) });
  } catch (err) {
    // The budget ran out inside this attempt: the wait ends at the login stage, not in ssh.
    if (!(err instanceof Diagnostic) || err.code !== "vmctl::exec::timeout") throw err;
    r = { code: -1, stderr: err.details.join("\n") };
  }
  const stderr = r.stderr.trim();
  return {
    ok: r.code === 0,
    hostKeyProblem: /host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i
      .test(stderr),
    stderr,
  };
}

function hostKeyError(t: SshTarget, stderr: string): Diagnostic {
  return new Diagnostic(
    "vmctl::ssh::host_key_mismatch",
    `the SSH host key of ${t.hostKeyAlias} (${t.host}:${t.port}) does not match ${t.knownHostsPath}`,
    {
      hint: t.hostKeyPolicy === "strict"
        ? "vmctl injected this VM's host key through cloud-init; another machine may be answering on this port, or the image ignores cloud-init ssh_keys. Recreate the VM (`vmctl reload`) if you trust it"
        : "the key recorded on first use changed; recreate the VM, or remove the line from that file if you know why",
      details: stderr.split("\n").slice(-10),
    },
  );
}

/** The timeout diagnostic: which stage, how long, and the console's last lines. */
async function notReady(
  t: SshTarget,
  stage: ReadinessStage,
  o: ReadinessOptions,
  t0: number,
  lastError = "",
): Promise<Diagnostic> {
  const waited = ((performance.now() - t0) / 1000).toFixed(1);
  const details: string[] = [];
  if (lastError) details.push(`last ssh error: ${lastError.split("\n").slice(-3).join(" | ")}`);
  const tail = o.consoleLog ? await logTail(o.consoleLog, 20) : undefined;
  if (tail?.length) details.push(`last ${tail.length} lines of ${o.consoleLog}:`, ...tail);
  else if (o.consoleLog) details.push(`(${o.consoleLog} is empty or missing)`);
  const hints: Record<ReadinessStage, string> = {
    tcp: "nothing accepts connections on that port: is the VM running (`vmctl status`)?",
    banner:
      "the port accepts connections but no SSH server answers yet: the guest may still be booting (TCG guests are slow: raise --timeout) or sshd failed; see the console lines below",
    login:
      "sshd answers but refuses the key: check the user (--user) and key (--key), and that cloud-init created the user (see the console lines below)",
  };
  return new Diagnostic(
    "vmctl::ssh::not_ready",
    `SSH on ${t.host}:${t.port} was not ready after ${waited} s: waiting for ${
      STAGE_TEXT[stage]
    } (stage \`${stage}\`) did not finish`,
    { hint: hints[stage], details },
  );
}

function isSocket(path: string): boolean {
  try {
    return host.statSync(path).isSocket === true;
  } catch {
    return false;
  }
}

function closeQuietly(c: Conn): void {
  try {
    c.close();
  } catch { /* already closed */ }
}
