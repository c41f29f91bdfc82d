/**
 * The `forward` and `mount` nodes of a `vm`: what a VM shares with its host.
 * Both may be repeated; the rules across nodes (duplicates, the network and
 * cloud-init they need) are checked once the whole body is read
 * ({@link checkShares}).
 *
 * @module
 */
import type { Node } from "@bgotink/kdl";
import {
  DEFAULT_FORWARD_IP,
  firstRepeat,
  FORWARD_PROTOS,
  forwardKey,
  guestPathProblem,
  HOST_IP_RULE,
  isIpv4,
  mountKey,
  PORT_RANGE,
  type PortForward,
  type SharedFolder,
} from "../forwards.ts";
import type { CloudInitSpec, NetworkConfig } from "../types.ts";
import { propsOrChildren } from "./blocks.ts";
import {
  boolValue,
  checkTags,
  type Ctx,
  entriesOf,
  enumValue,
  fail,
  intValue,
  lineOf,
  pathValue,
  stringValue,
} from "./nodes.ts";

const FORWARD_USAGE = "forward host=8080 guest=80";
const MOUNT_USAGE = 'mount "./src" "/src"';

/** A read node with the node itself, for the cross-node rules. */
export interface Read<T> {
  value: T;
  node: Node;
}

/** `forward host=8080 guest=80 [proto="udp"] [host-ip="0.0.0.0"]` (or those as children). */
export function readForward(ctx: Ctx, node: Node): PortForward | undefined {
  const before = ctx.diags.length;
  checkTags(ctx, node);
  const extra = entriesOf(node).args[0];
  if (extra) {
    fail(ctx, "invalid_value", extra, "`forward` takes no arguments", `write \`${FORWARD_USAGE}\``);
  }
  const f = propsOrChildren(ctx, node, ["host", "guest", "proto", "host-ip"], FORWARD_USAGE);
  const range = { ...PORT_RANGE, example: FORWARD_USAGE };
  const port = (key: "host" | "guest") => {
    const e = f.get(key);
    if (e) return intValue(ctx, e, `${key} port`, range);
    return fail(ctx, "missing_value", node, `\`forward\` needs \`${key}=\``, FORWARD_USAGE);
  };
  const hostPort = port("host");
  const guestPort = port("guest");
  const protoEntry = f.get("proto");
  const proto = protoEntry ? enumValue(ctx, protoEntry, "proto", FORWARD_PROTOS) : "tcp";
  const ipEntry = f.get("host-ip");
  let hostIp: string | undefined = DEFAULT_FORWARD_IP;
  if (ipEntry) {
    hostIp = stringValue(ctx, ipEntry, "host-ip", 'host-ip="127.0.0.1"');
    if (hostIp !== undefined && !isIpv4(hostIp)) {
      hostIp = fail(
        ctx,
        "invalid_value",
        ipEntry,
        `host-ip ${JSON.stringify(hostIp)} is not an IPv4 address`,
        `write ${HOST_IP_RULE}`,
      );
    }
  }
  if (ctx.diags.length !== before) return undefined;
  return { proto: proto!, host_ip: hostIp!, host_port: hostPort!, guest_port: guestPort! };
}

/** `mount "HOST" "GUEST" { readonly #true }`: the host path resolves like every VMFile path. */
export function readMount(ctx: Ctx, node: Node): SharedFolder | undefined {
  const before = ctx.diags.length;
  checkTags(ctx, node);
  const { args } = entriesOf(node);
  const f = propsOrChildren(ctx, node, ["readonly"], `${MOUNT_USAGE} { readonly #true }`);
  if (args.length !== 2) {
    return fail(
      ctx,
      args.length < 2 ? "missing_value" : "invalid_value",
      args[2] ?? node,
      `\`mount\` takes a host path and a guest path, got ${args.length} value(s)`,
      `write \`${MOUNT_USAGE}\``,
    );
  }
  const host = pathValue(ctx, args[0], "mount", MOUNT_USAGE, { dir: true });
  const guest = stringValue(ctx, args[1], "guest path", MOUNT_USAGE);
  const problem = guest === undefined ? undefined : guestPathProblem(guest);
  if (problem) {
    fail(
      ctx,
      "invalid_value",
      args[1],
      `guest path ${JSON.stringify(guest)} cannot be a mount point: ${problem}`,
      'write an absolute guest directory such as "/src"',
    );
  }
  const ro = f.get("readonly");
  const readonly = ro ? boolValue(ctx, ro, "readonly") : false;
  if (ctx.diags.length !== before) return undefined;
  return { host_path: host!, guest_path: guest!, readonly: readonly! };
}

/**
 * The rules across nodes: a host port/protocol forwarded once, a guest path
 * mounted once; forwards need user networking; mounts need the user-data
 * vmctl writes (it holds the mount commands).
 */
export function checkShares(
  ctx: Ctx,
  forwards: Read<PortForward>[],
  mounts: Read<SharedFolder>[],
  network: NetworkConfig,
  cloudInit: CloudInitSpec | undefined,
): void {
  refuseRepeat(
    ctx,
    forwards,
    forwardKey,
    (f, line) => `host port ${f.host_port}/${f.proto} is already forwarded on line ${line}`,
  );
  refuseRepeat(
    ctx,
    mounts,
    mountKey,
    (m, line) => `${m.guest_path} is already mounted on line ${line}`,
  );
  if (forwards.length > 0 && network.type !== "user") {
    fail(
      ctx,
      "forward_needs_user_network",
      forwards[0].node,
      `\`forward\` needs \`network "user"\`, not "${network.type}"`,
      'with a bridge the guest has its own address: connect to it directly, or use `network "user"`',
    );
  }
  if (mounts.length > 0 && (!cloudInit || cloudInit.userDataPath)) {
    fail(
      ctx,
      "mount_needs_cloud_init",
      mounts[0].node,
      "`mount` needs the cloud-init user-data vmctl writes",
      cloudInit
        ? "your own `user-data` is passed through unchanged, so vmctl cannot add the mount: mount it there (9p tag vmctl0, vmctl1, ...) or drop `user-data`"
        : "add a `cloud-init { }` block: the guest mounts the folder at boot through it",
    );
  }
}

function refuseRepeat<T>(
  ctx: Ctx,
  list: Read<T>[],
  key: (v: T) => string,
  message: (v: T, line: number) => string,
): void {
  const at = firstRepeat(list.map((r) => r.value), key);
  if (!at) return;
  const [first, later] = [list[at[0]], list[at[1]]];
  fail(
    ctx,
    "duplicate_node",
    later.node,
    message(later.value, lineOf(first.node)),
    "keep one of them",
  );
}
