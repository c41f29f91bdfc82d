/**
 * Host ports: is one free, who holds it. Free means this process could bind
 * it just now; the holder is what `ss` reports (Linux, iproute2), and "owner
 * unknown" where `ss` is missing or may not show it (another user's process).
 *
 * @module
 */
import { Diagnostic } from "../lib/diagnostics.ts";
import {
  blocks,
  describeForward,
  type ForwardProto,
  type Listener,
  parseSsListeners,
  type PortForward,
} from "../lib/forwards.ts";
import type { Runner } from "./exec.ts";
import { host } from "../host/mod.ts";

/** True when a TCP listener can bind 127.0.0.1:`port` right now. */
export function loopbackPortFree(port: number): Promise<boolean> {
  return host.probeTcpPort("127.0.0.1", port).then(() => true, () => false);
}

/** A TCP port on 127.0.0.1 the OS says is free. */
export function freeLoopbackPort(): Promise<number> {
  return host.probeTcpPort("127.0.0.1", 0);
}

/** The host's listening TCP and UDP sockets; null when `ss` cannot tell (absent, not Linux). */
export async function hostListeners(runner: Runner): Promise<Listener[] | null> {
  const res = await runner.run(["ss", "-H", "-l", "-n", "-p", "-t", "-u"], {
    check: false,
    timeoutMs: 10_000,
  }).catch(() => null);
  return res && res.code === 0 ? parseSsListeners(res.stdout) : null;
}

/** A host port vmctl is about to have QEMU bind, and what for (for messages). */
export interface WantedPort extends Pick<PortForward, "proto" | "host_ip" | "host_port"> {
  /** `the SSH forward`, `forward 127.0.0.1:8080 -> 80/tcp`. */
  what: string;
  /** The way on when it is taken. */
  hint: string;
}

/**
 * Refuse the first wanted port something already listens on, naming the
 * owner when `ss` shows it. Nothing is refused when `ss` cannot tell: QEMU's
 * own bind then fails, and {@link portTaken} words that.
 */
export async function requirePortsFree(runner: Runner, wanted: WantedPort[]): Promise<void> {
  if (wanted.length === 0) return;
  const listeners = await hostListeners(runner);
  if (!listeners) return;
  for (const w of wanted) {
    const holder = listeners.find((l) => blocks(l, w));
    if (holder) throw portTaken(w, holder.owner ?? "owner unknown");
  }
}

/** `vmctl::net::port_taken` for `w`, held by `owner`. */
export function portTaken(w: WantedPort, owner: string): Diagnostic {
  return new Diagnostic(
    "vmctl::net::port_taken",
    `host port ${w.host_ip}:${w.host_port}/${w.proto} (${w.what}) is already in use: ${owner}`,
    { hint: w.hint },
  );
}

/** The owner `ss` names for `port/proto` now, or "owner unknown". */
export async function portOwner(runner: Runner, proto: ForwardProto, port: number) {
  const hit = (await hostListeners(runner))?.find((l) => l.proto === proto && l.port === port);
  return hit?.owner ?? "owner unknown";
}

/** A forward as a port QEMU is about to bind. */
export function forwardWanted(f: PortForward): WantedPort {
  return {
    ...f,
    what: `forward ${describeForward(f)}`,
    hint: "stop what holds the port, or forward another host port",
  };
}
