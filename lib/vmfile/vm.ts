/**
 * The body of one `vm` block: leaf nodes (image, resources, switches), the
 * blocks (delegated to blocks.ts), single-occurrence rules and the
 * image-source rule. Returns a fully defaulted {@link VmDef}.
 *
 * @module
 */
import type { Entry, Node } from "@bgotink/kdl";
import { VM_LIMITS } from "../defaults.ts";
import { OCI_REF_EXAMPLE, parseImageUrl, parseSha256 } from "../image_ref.ts";
import { didYouMean } from "../diagnostics.ts";
import {
  type Accel,
  ACCELS,
  type CloudInitSpec,
  type NetworkConfig,
  type SshSpec,
} from "../types.ts";
import type { ImageSource, ProvisionStep, VmDef } from "./types.ts";
import { readCloudInit, readNetwork, readProvision, readSsh } from "./blocks.ts";
import { checkShares, type Read, readForward, readMount } from "./shares.ts";
import type { PortForward, SharedFolder } from "../forwards.ts";
import {
  boolValue,
  type Ctx,
  enumValue,
  fail,
  intValue,
  leafArg,
  lineOf,
  pathValue,
  spanOf,
  stringValue,
} from "./nodes.ts";

/** Every node a `vm` block accepts. */
export const VM_NODES = [
  "image",
  "image-url",
  "image-sha256",
  "vcpus",
  "memory",
  "disk",
  "network",
  "uefi",
  "accel",
  "vnc",
  "cloud-init",
  "ssh",
  "provision",
  "forward",
  "mount",
] as const;
type VmNode = typeof VM_NODES[number];

/** The VM limits (lib/defaults.ts) with the VMFile's wording. */
export const LIMITS = {
  vcpus: { ...VM_LIMITS.vcpus, example: "vcpus 2" },
  memory: { ...VM_LIMITS.memoryMb, unit: "MB", example: "memory 2048" },
  disk: { ...VM_LIMITS.diskGb, unit: "GB", example: "disk 20" },
} as const;

const LEAF_USAGE: Record<string, string> = {
  image: 'image "images/ubuntu.qcow2"',
  "image-url": 'image-url "https://example.com/image.qcow2"',
  "image-sha256": 'image-sha256 "<64 hex digits>"',
  uefi: "uefi #true",
  accel: 'accel "kvm"',
  vnc: "vnc #true",
};

interface Parts {
  image?: ImageSource;
  vcpus?: number;
  memoryMb?: number;
  diskGb?: number;
  network?: NetworkConfig;
  uefi?: boolean;
  accel?: Accel;
  vnc?: boolean;
  cloudInit?: CloudInitSpec;
  ssh?: SshSpec;
  sha256?: string;
}

/** Read the body of `vm "<name>" { ... }`; undefined when it has problems (recorded in ctx). */
export function readVmBody(ctx: Ctx, vm: Node, name: string): VmDef | undefined {
  const before = ctx.diags.length;
  const seen = new Map<VmNode, Node>();
  const parts: Parts = {};
  const provision: ProvisionStep[] = [];
  const forwards: Read<PortForward>[] = [];
  const mounts: Read<SharedFolder>[] = [];
  for (const child of vm.children?.nodes ?? []) {
    const key = child.getName();
    if (!(VM_NODES as readonly string[]).includes(key)) {
      fail(
        ctx,
        "unknown_node",
        child,
        `unknown node \`${key}\` in vm "${name}"`,
        didYouMean(key, VM_NODES),
      );
      continue;
    }
    const k = key as VmNode;
    if (k === "provision") {
      const step = readProvision(ctx, child);
      if (step) provision.push(step);
      continue;
    }
    if (k === "forward" || k === "mount") {
      const value = k === "forward" ? readForward(ctx, child) : readMount(ctx, child);
      if (value && k === "forward") forwards.push({ value: value as PortForward, node: child });
      if (value && k === "mount") mounts.push({ value: value as SharedFolder, node: child });
      continue;
    }
    if (seen.has(k)) {
      fail(
        ctx,
        "duplicate_node",
        child,
        `\`${k}\` is given twice in vm "${name}"`,
        `keep one; the first is on line ${lineOf(seen.get(k)!)}`,
      );
      continue;
    }
    seen.set(k, child);
    readNode(ctx, k, child, parts);
  }
  checkImageSource(ctx, vm, name, seen, parts);
  checkShares(ctx, forwards, mounts, parts.network ?? { type: "user" }, parts.cloudInit);
  if (ctx.diags.length !== before || !parts.image) return undefined;
  const def: VmDef = {
    name,
    span: spanOf(ctx, vm),
    image: parts.image,
    vcpus: parts.vcpus ?? 1,
    memoryMb: parts.memoryMb ?? 1024,
    network: parts.network ?? { type: "user" },
    uefi: parts.uefi ?? false,
    vnc: parts.vnc ?? false,
    forwards: forwards.map((r) => r.value),
    mounts: mounts.map((r) => r.value),
    provision,
  };
  if (parts.diskGb !== undefined) def.diskGb = parts.diskGb;
  if (parts.accel !== undefined) def.accel = parts.accel;
  if (parts.cloudInit) def.cloudInit = parts.cloudInit;
  if (parts.ssh) def.ssh = parts.ssh;
  return def;
}

/** Interpret one (first-occurrence) child of a vm into `parts`. */
function readNode(ctx: Ctx, k: VmNode, node: Node, parts: Parts): void {
  switch (k) {
    case "network":
      parts.network = readNetwork(ctx, node);
      return;
    case "cloud-init":
      parts.cloudInit = readCloudInit(ctx, node);
      return;
    case "ssh":
      parts.ssh = readSsh(ctx, node);
      return;
  }
  const usage = k in LIMITS ? LIMITS[k as keyof typeof LIMITS].example : LEAF_USAGE[k];
  const arg = leafArg(ctx, node, usage);
  if (!arg) return;
  switch (k) {
    case "image": {
      const path = pathValue(ctx, arg, "image", usage);
      if (path) parts.image = { kind: "path", path };
      return;
    }
    case "image-url": {
      const url = imageUrl(ctx, arg);
      if (url) parts.image = { kind: "url", url };
      return;
    }
    case "image-sha256":
      parts.sha256 = sha256(ctx, arg);
      return;
    case "vcpus":
      parts.vcpus = intValue(ctx, arg, "vcpus", LIMITS.vcpus);
      return;
    case "memory":
      parts.memoryMb = intValue(ctx, arg, "memory", LIMITS.memory);
      return;
    case "disk":
      parts.diskGb = intValue(ctx, arg, "disk", LIMITS.disk);
      return;
    case "uefi":
    case "vnc":
      parts[k] = boolValue(ctx, arg, k);
      return;
    case "accel":
      parts.accel = enumValue(ctx, arg, "accel", ACCELS);
      return;
  }
}

/** An http(s) URL with a host, or an `oci://` reference. */
function imageUrl(ctx: Ctx, e: Entry): string | undefined {
  const raw = stringValue(ctx, e, "image-url", LEAF_USAGE["image-url"]);
  if (raw === undefined) return undefined;
  const url = parseImageUrl(raw);
  if (url instanceof URL) return raw;
  const [message, hint] = url === "bad_oci_ref"
    ? [
      `image-url ${JSON.stringify(raw)} is not an OCI reference`,
      `write it as ${OCI_REF_EXAMPLE} (repository in lower case)`,
    ]
    : [
      `image-url ${JSON.stringify(raw)} is not an http(s) URL`,
      url === "scheme"
        ? 'only http://, https:// and oci:// are supported; for a local file use `image "path"`'
        : 'write a full URL such as `image-url "https://example.com/image.qcow2"`, or `image "path"` for a local file',
    ];
  return fail(ctx, "invalid_url", e, message, hint);
}

/** 64 hex digits, returned lower-case. */
function sha256(ctx: Ctx, e: Entry): string | undefined {
  const raw = stringValue(ctx, e, "image-sha256", LEAF_USAGE["image-sha256"]);
  if (raw === undefined) return undefined;
  const hex = parseSha256(raw);
  if (!hex) {
    return fail(
      ctx,
      "invalid_value",
      e,
      "image-sha256 must be 64 hexadecimal digits",
      "copy the digest from the image's SHA256SUMS (`sha256sum image.qcow2`)",
    );
  }
  return hex;
}

/** Exactly one of image / image-url; image-sha256 only with image-url. */
function checkImageSource(
  ctx: Ctx,
  vm: Node,
  name: string,
  seen: Map<VmNode, Node>,
  parts: Parts,
): void {
  const local = seen.get("image");
  const remote = seen.get("image-url");
  const digest = seen.get("image-sha256");
  if (local && remote) {
    const later = lineOf(local) > lineOf(remote) ? local : remote;
    const earlier = later === local ? remote : local;
    fail(
      ctx,
      "image_source",
      later,
      `vm "${name}" has both \`image\` and \`image-url\``,
      `keep one; \`${earlier.getName()}\` is on line ${lineOf(earlier)}`,
    );
    return;
  }
  if (!local && !remote) {
    fail(
      ctx,
      "image_source",
      vm,
      `vm "${name}" has no image`,
      'add `image "path/to/disk.qcow2"` or `image-url "https://..."`',
    );
    return;
  }
  if (digest && !remote) {
    fail(
      ctx,
      "image_source",
      digest,
      "`image-sha256` is only used with `image-url`",
      "remove it, or download with `image-url` to have the digest checked",
    );
    return;
  }
  if (parts.image?.kind === "url" && parts.sha256) parts.image.sha256 = parts.sha256;
}
