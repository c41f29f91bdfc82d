/**
 * Readers for the block nodes of a `vm`: `network`, `cloud-init`, `ssh` and
 * `provision`. Each records its problems in the {@link Ctx} and returns
 * undefined when the block is unusable.
 *
 * @module
 */
import type { Entry, Node } from "@bgotink/kdl";
import { DEFAULT_BRIDGE, DEFAULT_SSH_USER } from "../defaults.ts";
import { didYouMean } from "../diagnostics.ts";
import {
  BRIDGE_NAME_PATTERN,
  BRIDGE_NAME_RULE,
  HOST_NAME_RULE,
  LINK_NAME_HINT,
  LINK_NAME_PATTERN,
  NAME_PATTERN,
  type NameRule,
  patternRule,
  USER_NAME_RULE,
} from "../names.ts";
import type { CloudInitSpec, NetworkConfig, SshSpec } from "../types.ts";
import type { ProvisionStep } from "./types.ts";
import { PORT_RANGE } from "../forwards.ts";
import {
  checkProps,
  checkTags,
  type Ctx,
  entriesOf,
  enumValue,
  fail,
  intValue,
  leafArg,
  lineOf,
  pathValue,
  spanOf,
  stringValue,
} from "./nodes.ts";

/** How each child node is written; used in hints. */
export const USAGE: Record<string, string> = {
  bridge: 'bridge "br0"',
  name: 'name "vnic0"',
  hostname: 'hostname "myvm"',
  "ssh-key": 'ssh-key "~/.ssh/id_ed25519.pub"',
  "user-data": 'user-data "cloud-config.yaml"',
  "network-config": 'network-config "network-config.yaml"',
  "vendor-data": 'vendor-data "vendor-data.yaml"',
  user: 'user "ubuntu"',
  "private-key": 'private-key "~/.ssh/id_ed25519"',
  inline: 'inline "echo hello"',
  script: 'script "scripts/setup.sh"',
  source: 'source "config/app.conf"',
  destination: 'destination "/etc/app/app.conf"',
};

export const NETWORK_MODES = ["user", "tap", "none", "vnic"] as const;
export const PROVISION_TYPES = ["shell", "file"] as const;

const BRIDGE_NAME = patternRule("bridge", BRIDGE_NAME_PATTERN, BRIDGE_NAME_RULE);
const VNIC_NAME = patternRule("vnic name", LINK_NAME_PATTERN, LINK_NAME_HINT);
const VNIC_LINK = patternRule("link", LINK_NAME_PATTERN, LINK_NAME_HINT);
const POOL_NAME = patternRule(
  "pool",
  NAME_PATTERN,
  "the name of a pool in the zone registry (`zmgr pool list`)",
);

/**
 * The leaf children of a block (`cloud-init { hostname "x" }`): each known
 * child once, with its single argument. Unknown and repeated children are
 * reported; `misplaced` adds a hint for children that belong elsewhere.
 */
export function leafChildren(
  ctx: Ctx,
  parent: Node,
  allowed: readonly string[],
  misplaced: Record<string, string> = {},
): Map<string, Entry> {
  const found = new Map<string, Entry>();
  const seen = new Map<string, Node>();
  for (const child of parent.children?.nodes ?? []) {
    const name = child.getName();
    if (!allowed.includes(name)) {
      const hint = misplaced[name] ?? didYouMean(name, allowed);
      fail(ctx, "unknown_node", child, `unknown node \`${name}\` in \`${label(parent)}\``, hint);
      continue;
    }
    if (seen.has(name)) {
      fail(
        ctx,
        "duplicate_node",
        child,
        `\`${name}\` is given twice in \`${label(parent)}\``,
        `keep one; the first is on line ${lineOf(seen.get(name)!)}`,
      );
      continue;
    }
    seen.set(name, child);
    const arg = leafArg(ctx, child, USAGE[name] ?? `${name} "..."`);
    if (arg) found.set(name, arg);
  }
  return found;
}

/**
 * Values a node takes either as properties (`network "tap" bridge="br0"`) or
 * as children (`network "tap" { bridge "br0" }`): each of `allowed` once, in
 * one of the two forms.
 */
export function propsOrChildren(
  ctx: Ctx,
  node: Node,
  allowed: readonly string[],
  usage: string,
  misplaced: Record<string, string> = {},
): Map<string, Entry> {
  const props = checkProps(ctx, node, allowed, usage);
  const children = node.children
    ? leafChildren(ctx, node, allowed, misplaced)
    : new Map<string, Entry>();
  for (const [name, child] of children) {
    const prop = props.get(name);
    if (prop) {
      fail(
        ctx,
        "duplicate_node",
        child,
        `\`${name}\` is given both as a property and in the block`,
        `keep one; the property is on line ${lineOf(prop)}`,
      );
    } else {
      props.set(name, child);
    }
  }
  return props;
}

/** `provision "shell"`, `network "tap"`, `cloud-init`: how a block is named in messages. */
function label(node: Node): string {
  const first = entriesOf(node).args[0]?.getValue();
  return typeof first === "string" ? `${node.getName()} "${first}"` : node.getName();
}

/** Refuse arguments on a block that takes none (`ssh "ubuntu" { }`). */
function noArgs(ctx: Ctx, node: Node, usage: string): void {
  checkTags(ctx, node);
  checkProps(ctx, node, [], usage);
  const extra = entriesOf(node).args[0];
  if (extra) {
    fail(
      ctx,
      "invalid_value",
      extra,
      `\`${node.getName()}\` takes no arguments`,
      `write \`${usage}\``,
    );
  }
}

/** A string child checked against a pattern. */
function named(
  ctx: Ctx,
  e: Entry | undefined,
  what: string,
  rule: NameRule,
): string | undefined {
  if (!e) return undefined;
  const v = stringValue(ctx, e, what, USAGE[what] ?? what);
  if (v === undefined) return undefined;
  if (!rule.test(v)) {
    return fail(ctx, "invalid_value", e, `invalid ${what} ${JSON.stringify(v)}`, rule.hint);
  }
  return v;
}

/** `network "user"`, `network "tap" bridge="br0"`, `network "tap" { bridge "br0" }`, vnic alike. */
export function readNetwork(ctx: Ctx, node: Node): NetworkConfig | undefined {
  checkTags(ctx, node);
  const { args } = entriesOf(node);
  if (args.length === 0) {
    checkProps(ctx, node, [], 'network "user"');
    return fail(
      ctx,
      "missing_value",
      node,
      "`network` needs a mode",
      'write `network "user"`, `network "tap"`, `network "none"` or `network "vnic" { name "vnic0" }`',
    );
  }
  if (args.length > 1) {
    fail(
      ctx,
      "invalid_value",
      args[1],
      "`network` takes one mode",
      'write `network "tap" { bridge "br0" }`',
    );
  }
  const mode = enumValue(ctx, args[0], "network mode", NETWORK_MODES, "network_mode");
  if (mode === undefined) return undefined;
  const before = ctx.diags.length;
  const fields = propsOrChildren(
    ctx,
    node,
    mode === "tap" ? ["bridge"] : mode === "vnic" ? VNIC_FIELDS : [],
    `network "${mode}"`,
    {
      bridge: 'only `network "tap"` takes a bridge',
      name: 'only `network "vnic"` takes a name',
      link: 'only `network "vnic"` takes a link',
      pool: 'only `network "vnic"` takes a pool',
    },
  );
  if (mode === "user" || mode === "none") return { type: mode };
  if (ctx.diags.length !== before) return undefined;
  if (mode === "tap") {
    const entry = fields.get("bridge");
    if (!entry) return { type: "tap", bridge: DEFAULT_BRIDGE };
    const bridge = named(ctx, entry, "bridge", BRIDGE_NAME);
    return bridge === undefined ? undefined : { type: "tap", bridge };
  }
  return readVnic(ctx, fields);
}

/** The fields of `network "vnic" { name "vm0net0"; link "e1000g0"; pool "guests" }`, all optional. */
const VNIC_FIELDS = ["name", "link", "pool"] as const;

/**
 * The guest's VNIC: `name` (made when absent, from the VM name), the `link`
 * it goes over (default: the VM zone pool's etherstub) and the zone-registry
 * `pool` its address comes from (none: the guest configures itself).
 */
function readVnic(ctx: Ctx, fields: Map<string, Entry>): NetworkConfig | undefined {
  const before = ctx.diags.length;
  const name = named(ctx, fields.get("name"), "name", VNIC_NAME);
  const link = named(ctx, fields.get("link"), "link", VNIC_LINK);
  const pool = named(ctx, fields.get("pool"), "pool", POOL_NAME);
  if (ctx.diags.length !== before) return undefined;
  return {
    type: "vnic",
    ...(name ? { name } : {}),
    ...(link ? { link } : {}),
    ...(pool ? { pool } : {}),
  };
}

/** `cloud-init { hostname; ssh-key; user-data; network-config; vendor-data }`, all optional. */
export function readCloudInit(ctx: Ctx, node: Node): CloudInitSpec | undefined {
  const before = ctx.diags.length;
  noArgs(ctx, node, 'cloud-init { hostname "myvm" }');
  const c = leafChildren(ctx, node, [
    "hostname",
    "ssh-key",
    "user-data",
    "network-config",
    "vendor-data",
  ], {
    user: "`user` belongs in the `ssh` block",
    "private-key": "`private-key` belongs in the `ssh` block",
  });
  const spec: CloudInitSpec = {};
  const hostname = named(
    ctx,
    c.get("hostname"),
    "hostname",
    HOST_NAME_RULE,
  );
  if (hostname !== undefined) spec.hostname = hostname;
  const path = (key: string) => {
    const e = c.get(key);
    return e ? pathValue(ctx, e, key, USAGE[key]) : undefined;
  };
  const sshKey = path("ssh-key");
  const userData = path("user-data");
  const networkConfig = path("network-config");
  const vendorData = path("vendor-data");
  if (sshKey) spec.sshKeyPath = sshKey;
  if (userData) spec.userDataPath = userData;
  if (networkConfig) spec.networkConfigPath = networkConfig;
  if (vendorData) spec.vendorDataPath = vendorData;
  return ctx.diags.length === before ? spec : undefined;
}

/**
 * `ssh { user "ubuntu"; private-key "~/.ssh/id_ed25519"; port 22 }`; user
 * defaults to "vm", port (the guest's SSH port) to 22.
 */
export function readSsh(ctx: Ctx, node: Node): SshSpec | undefined {
  const before = ctx.diags.length;
  noArgs(ctx, node, 'ssh { user "ubuntu" }');
  const c = leafChildren(ctx, node, ["user", "private-key", "port"], {
    "ssh-key": "`ssh-key` (a public key) belongs in the `cloud-init` block; here use `private-key`",
  });
  const user = c.has("user")
    ? named(
      ctx,
      c.get("user"),
      "user",
      USER_NAME_RULE,
    )
    : DEFAULT_SSH_USER;
  const keyEntry = c.get("private-key");
  const key = keyEntry ? pathValue(ctx, keyEntry, "private-key", USAGE["private-key"]) : undefined;
  const portEntry = c.get("port");
  const port = portEntry
    ? intValue(ctx, portEntry, "ssh port", { ...PORT_RANGE, example: "ssh { port 22 }" })
    : undefined;
  if (ctx.diags.length !== before || user === undefined) return undefined;
  return { user, ...(key ? { privateKeyPath: key } : {}), ...(port ? { port } : {}) };
}

/** `provision "shell" { inline | script }` or `provision "file" { source; destination }`. */
export function readProvision(ctx: Ctx, node: Node): ProvisionStep | undefined {
  const before = ctx.diags.length;
  checkTags(ctx, node);
  checkProps(ctx, node, [], 'provision "shell" { inline "..." }');
  const { args } = entriesOf(node);
  if (args.length > 1) {
    fail(
      ctx,
      "invalid_value",
      args[1],
      "`provision` takes one type",
      'write `provision "shell" { ... }` or `provision "file" { ... }`',
    );
  }
  // Upstream treats a missing type as "shell"; keep files written for it working.
  const type = args[0]
    ? enumValue(ctx, args[0], "provision type", PROVISION_TYPES, "provision_type")
    : "shell";
  if (type === undefined) return undefined;
  if (!node.children) {
    return fail(
      ctx,
      "missing_value",
      node,
      `\`provision "${type}"\` has no block`,
      type === "shell"
        ? 'write `provision "shell" { inline "echo hello" }`'
        : 'write `provision "file" { source "app.conf"; destination "/etc/app.conf" }`',
    );
  }
  const span = spanOf(ctx, node);
  if (type === "shell") {
    const c = leafChildren(ctx, node, ["inline", "script"], {
      source: '`source` belongs to `provision "file"`',
      destination: '`destination` belongs to `provision "file"`',
    });
    const inline = c.get("inline");
    const script = c.get("script");
    if (inline && script) {
      const later = lineOf(inline) > lineOf(script) ? inline : script;
      return fail(
        ctx,
        "shell_source",
        later,
        "a shell provisioner has both `inline` and `script`",
        'keep exactly one: split it into two `provision "shell"` blocks to run both',
      );
    }
    if (!inline && !script && ctx.diags.length === before) {
      return fail(
        ctx,
        "shell_source",
        node,
        "a shell provisioner needs `inline` or `script`",
        'add `inline "command"` or `script "path/to/script.sh"`',
      );
    }
    if (inline) {
      const cmd = stringValue(ctx, inline, "inline", USAGE.inline);
      return cmd === undefined ? undefined : { kind: "shell", inline: cmd, span };
    }
    const path = script ? pathValue(ctx, script, "script", USAGE.script) : undefined;
    return path === undefined ? undefined : { kind: "shell", script: path, span };
  }
  const c = leafChildren(ctx, node, ["source", "destination"], {
    inline: '`inline` belongs to `provision "shell"`',
    script: '`script` belongs to `provision "shell"`',
  });
  const srcEntry = c.get("source");
  const dstEntry = c.get("destination");
  if ((!srcEntry || !dstEntry) && ctx.diags.length === before) {
    const missing = !srcEntry && !dstEntry
      ? "`source` and `destination`"
      : !srcEntry
      ? "`source`"
      : "`destination`";
    return fail(
      ctx,
      "file_provision",
      node,
      `a file provisioner needs ${missing}`,
      'write `provision "file" { source "local/file"; destination "/absolute/guest/path" }`',
    );
  }
  const source = srcEntry ? pathValue(ctx, srcEntry, "source", USAGE.source) : undefined;
  const destination = dstEntry
    ? stringValue(ctx, dstEntry, "destination", USAGE.destination)
    : undefined;
  if (destination !== undefined && !destination.startsWith("/")) {
    return fail(
      ctx,
      "relative_destination",
      dstEntry,
      `destination ${JSON.stringify(destination)} is not an absolute path`,
      `guest paths are absolute, e.g. \`destination "/tmp/${
        destination.replace(/^(\.\.?\/)+/, "")
      }"\``,
    );
  }
  if (source === undefined || destination === undefined) return undefined;
  return { kind: "file", source, destination, span };
}
