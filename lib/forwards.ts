/**
 * Port forwards and shared folders as data, and the rules both the VMFile
 * and the `create` options apply to them: port range, protocols, the host
 * address (IPv4 only, loopback by default), duplicates, guest mount points.
 * Pure: no I/O.
 *
 * @module
 */

/** Protocols a forward can carry (QEMU user networking hostfwd). */
export const FORWARD_PROTOS = ["tcp", "udp"] as const;
export type ForwardProto = typeof FORWARD_PROTOS[number];

/** Where forwards listen unless a `host-ip` widens it. */
export const DEFAULT_FORWARD_IP = "127.0.0.1";

/** A host port forwarded to a guest port (stored in the record as is; snake_case JSON). */
export interface PortForward {
  proto: ForwardProto;
  host_ip: string;
  host_port: number;
  guest_port: number;
}

/** A host directory shared with the guest (virtio-9p) and mounted at `guest_path`. */
export interface SharedFolder {
  host_path: string;
  guest_path: string;
  readonly: boolean;
}

/** The valid TCP/UDP port numbers. */
export const PORT_RANGE = { min: 1, max: 65535 } as const;

/** True for an integer in 1-65535. */
export function isPort(n: number): boolean {
  return Number.isInteger(n) && n >= PORT_RANGE.min && n <= PORT_RANGE.max;
}

/** A dotted-quad IPv4 address (each octet 0-255, no leading zeros): nothing else can slip into a QEMU option. */
export function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

/** The one wording of the host address rule. */
export const HOST_IP_RULE = "an IPv4 address such as 127.0.0.1 (or 0.0.0.0 for every interface)";

/** True when `ip` is on the loopback network (127.0.0.0/8): only this host can connect. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith("127.");
}

/** The warning printed for a forward that listens beyond loopback. */
export function widenedWarning(f: PortForward): string {
  return `forward ${describeForward(f)} listens on ${f.host_ip}, not only on loopback: ` +
    "other machines that can reach this address can connect to the guest";
}

/** `127.0.0.1:8080 -> 80/tcp`. */
export function describeForward(f: PortForward): string {
  return `${f.host_ip}:${f.host_port} -> ${f.guest_port}/${f.proto}`;
}

/** The key two forwards clash on: the same host port and protocol. */
export function forwardKey(f: Pick<PortForward, "proto" | "host_port">): string {
  return `${f.host_port}/${f.proto}`;
}

/**
 * `create --forward` syntax: `HOST:GUEST[/PROTO]` or `IP:HOST:GUEST[/PROTO]`.
 * Returns the forward, or a sentence saying what is wrong.
 */
export function parseForwardSpec(spec: string): PortForward | string {
  const m = /^(?:([^:/]+):)?([^:/]+):([^:/]+)(?:\/([^:/]+))?$/.exec(spec);
  if (!m) return "write HOST:GUEST, HOST:GUEST/udp or IP:HOST:GUEST";
  const [, ip, host, guest, proto] = m;
  const hostIp = ip ?? DEFAULT_FORWARD_IP;
  if (!isIpv4(hostIp)) return `the host address ${JSON.stringify(hostIp)} is not ${HOST_IP_RULE}`;
  const hostPort = portNumber(host);
  const guestPort = portNumber(guest);
  if (hostPort === undefined) return `the host port ${JSON.stringify(host)} is not 1-65535`;
  if (guestPort === undefined) return `the guest port ${JSON.stringify(guest)} is not 1-65535`;
  const p = proto ?? "tcp";
  if (!(FORWARD_PROTOS as readonly string[]).includes(p)) {
    return `the protocol ${JSON.stringify(p)} is not tcp or udp`;
  }
  return { proto: p as ForwardProto, host_ip: hostIp, host_port: hostPort, guest_port: guestPort };
}

function portNumber(s: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return isPort(n) ? n : undefined;
}

/** The indexes of the first item whose `key` repeats an earlier one's: [earlier, later]. */
export function firstRepeat<T>(
  list: readonly T[],
  key: (v: T) => string,
): [number, number] | undefined {
  const seen = new Map<string, number>();
  for (const [i, v] of list.entries()) {
    const first = seen.get(key(v));
    if (first !== undefined) return [first, i];
    seen.set(key(v), i);
  }
  return undefined;
}

/**
 * Why `path` cannot be a guest mount point, or undefined: absolute, not `/`,
 * no `.`/`..` segments, printable characters without spaces (it goes into a
 * mount command in the seed).
 */
export function guestPathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "it is not an absolute path";
  if ([...path].some((c) => /\s/.test(c) || c.charCodeAt(0) < 0x20 || c === "\x7f")) {
    return "it contains a space or a control character";
  }
  const segments = path.split("/").filter(Boolean);
  if (segments.length === 0) return "it is the guest's root directory";
  if (segments.some((s) => s === "." || s === "..")) return "it contains `.` or `..`";
  return undefined;
}

/** The 9p mount tag of the `i`-th shared folder: the one name QEMU and the guest's mount share. */
export function mountTag(i: number): string {
  return `vmctl${i}`;
}

/** The key two shared folders clash on: the same guest directory. */
export function mountKey(m: Pick<SharedFolder, "guest_path">): string {
  return m.guest_path.replace(/\/+$/, "");
}

/** `/home/me/src -> /src (read-only)`. */
export function describeMount(m: SharedFolder): string {
  return `${m.host_path} -> ${m.guest_path}${m.readonly ? " (read-only)" : ""}`;
}

/**
 * `create --mount` syntax: `HOST:GUEST` or `HOST:GUEST:ro` (the host path
 * may itself hold `:`; the guest path is after the last one). The host path
 * comes back as written, to be resolved by the caller.
 */
export function parseMountSpec(
  spec: string,
): { host: string; guest: string; readonly: boolean } | string {
  const readonly = spec.endsWith(":ro");
  const body = readonly ? spec.slice(0, -3) : spec;
  const at = body.lastIndexOf(":");
  if (at <= 0 || at === body.length - 1) return "write HOST:GUEST or HOST:GUEST:ro";
  const guest = body.slice(at + 1);
  const problem = guestPathProblem(guest);
  if (problem) return `the guest path ${JSON.stringify(guest)} cannot be used: ${problem}`;
  return { host: body.slice(0, at), guest, readonly };
}

/** Where SSH forward ports are chosen first (the book's range), one VM a port. */
export const SSH_PORT_RANGE = { first: 10022, last: 10122 } as const;

/**
 * The SSH ports a VM tries, in order: the whole book range, starting at a
 * place fixed by a hash of `key` (its data dir and name: a recreated VM gets
 * its port again when it is free, and two users' VMs of one name do not start
 * at the same place).
 */
export function sshPortCandidates(key: string): number[] {
  const size = SSH_PORT_RANGE.last - SSH_PORT_RANGE.first + 1;
  let h = 0x811c9dc5; // FNV-1a
  for (const b of new TextEncoder().encode(key)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const start = h % size;
  return Array.from({ length: size }, (_, i) => SSH_PORT_RANGE.first + (start + i) % size);
}

/** A process listening on a port, as `ss` lists it. */
export interface Listener {
  proto: ForwardProto;
  /** The local address without brackets or `%iface`; `*` for every address. */
  addr: string;
  port: number;
  /** `python3 (pid 4242)`, when the lister could see it. */
  owner?: string;
}

/**
 * The listening sockets in `ss -H -l -n -p -t -u` output
 * (`tcp LISTEN 0 128 127.0.0.1:8080 0.0.0.0:* users:(("python3",pid=42,fd=3))`).
 */
export function parseSsListeners(text: string): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !(FORWARD_PROTOS as readonly string[]).includes(f[0])) continue;
    const local = f[4];
    const at = local.lastIndexOf(":");
    const port = Number(local.slice(at + 1));
    if (at < 0 || !isPort(port)) continue;
    const addr = local.slice(0, at).replace(/^\[|\]$/g, "").replace(/%.*$/, "");
    const l: Listener = { proto: f[0] as ForwardProto, addr, port };
    const who = /users:\(\("((?:[^"\\]|\\.)*)",pid=(\d+)/.exec(line);
    if (who) l.owner = `${who[1]} (pid ${who[2]})`;
    out.push(l);
  }
  return out;
}

/** True when a listener keeps QEMU from binding `ip:port/proto` (IPv4; wildcards overlap all). */
export function blocks(l: Listener, want: Pick<PortForward, "proto" | "host_ip" | "host_port">) {
  if (l.proto !== want.proto || l.port !== want.host_port) return false;
  const wild = (a: string) => a === "*" || a === "0.0.0.0" || a === "::";
  if (l.addr.includes(":") && !wild(l.addr)) return false; // one IPv6 address: no IPv4 clash
  return wild(l.addr) || wild(want.host_ip) || l.addr === want.host_ip;
}
