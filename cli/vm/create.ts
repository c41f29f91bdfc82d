/**
 * `vmctl create`: turn the book's options into a {@link VmConfig}, check them
 * all before anything touches the disk, then create (and `--start`).
 *
 * @module
 */
import {
  type Accel,
  ACCELS,
  type CloudInitSpec,
  type ImageSource,
  type NetworkConfig,
  type VmConfig,
} from "../../lib/types.ts";
import { resolveUserPath } from "../../lib/paths.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import {
  BRIDGE_NAME_PATTERN,
  BRIDGE_NAME_RULE,
  LINK_NAME_HINT,
  LINK_NAME_PATTERN,
  NAME_PATTERN,
  USER_NAME_RULE,
} from "../../lib/names.ts";
import { describeFileProblem, dirProblem, fileProblem, isFile } from "../../lib/files.ts";
import {
  firstRepeat,
  forwardKey,
  mountKey,
  parseForwardSpec,
  parseMountSpec,
  PORT_RANGE,
  type PortForward,
  type SharedFolder,
} from "../../lib/forwards.ts";
import { DEFAULT_BRIDGE, requestedAccel, VM_LIMITS } from "../../lib/defaults.ts";
import { OCI_REF_EXAMPLE, parseImageUrl, parseSha256 } from "../../lib/image_ref.ts";
import { defaultBackendTag } from "../../backends/router.ts";
import { choiceOption, intOption, opsContext, usageError, vmNameArg } from "../common.ts";
import { createCourse } from "../../vm/create.ts";
import { followCourses } from "../../vm/course.ts";

/** The options as commander hands them over (all strings / flags). */
export interface CreateOptions {
  name: string;
  image?: string;
  imageUrl?: string;
  imageSha256?: string;
  vcpus: string;
  memory: string;
  disk?: string;
  bridge?: string;
  network?: string;
  vnic?: string;
  link?: string;
  pool?: string;
  sshPort?: string;
  forward?: string[];
  mount?: string[];
  cloudInit?: string;
  sshKey?: string;
  user: string;
  uefi?: boolean;
  accel?: string;
  vnc?: boolean;
  start?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** Validate every option and build the VM's config. Pure apart from `stat` of the named files. */
export function createRequest(o: CreateOptions): VmConfig {
  const name = vmNameArg(o.name);
  const image = imageSource(o);
  const vcpus = intOption(o.vcpus, "--vcpus", VM_LIMITS.vcpus)!;
  const memoryMb = intOption(o.memory, "--memory", VM_LIMITS.memoryMb)!;
  const diskGb = intOption(o.disk, "--disk", VM_LIMITS.diskGb);
  const sshPort = intOption(o.sshPort, "--ssh-port", PORT_RANGE);
  const accel = requestedAccel(choiceOption(o.accel, "--accel", ACCELS));
  if (!USER_NAME_RULE.test(o.user)) {
    throw usageError(
      "vmctl::usage::invalid_user",
      `--user ${JSON.stringify(o.user)} is not a valid user name`,
      USER_NAME_RULE.hint,
    );
  }
  if (o.cloudInit && o.sshKey) {
    throw usageError(
      "vmctl::create::conflicting_seed",
      "--cloud-init and --ssh-key cannot be combined",
      "raw user-data is passed through unchanged, so vmctl could not add the key; put it in the user-data",
    );
  }
  const cloudInit: CloudInitSpec = { hostname: name };
  let sshPrivateKey: string | undefined;
  if (o.cloudInit) cloudInit.userDataPath = existingFile(o.cloudInit, "--cloud-init");
  if (o.sshKey) {
    cloudInit.sshKeyPath = existingFile(o.sshKey, "--ssh-key");
    // `vmctl ssh` needs the private half: use the usual sibling of a .pub file when it exists.
    const priv = cloudInit.sshKeyPath.replace(/\.pub$/, "");
    if (priv !== cloudInit.sshKeyPath && isFile(priv)) sshPrivateKey = priv;
  }
  const net = network(o);
  const mounts = sharedFolders(o);
  return {
    name,
    backend: defaultBackendTag(),
    image,
    vcpus,
    memoryMb,
    diskGb,
    network: net,
    forwards: forwards(o, net),
    mounts,
    uefi: o.uefi ?? false,
    accel: accel as Accel,
    vnc: o.vnc ?? false,
    cloudInit,
    sshUser: o.user,
    ...(sshPort ? { sshPort } : {}),
    sshPrivateKey,
  };
}

function imageSource(o: CreateOptions): ImageSource {
  if (o.image && o.imageUrl) {
    throw usageError(
      "vmctl::create::image_conflict",
      "give either --image or --image-url, not both",
      "--image takes a local file, --image-url downloads one",
    );
  }
  if (o.imageSha256 !== undefined) {
    if (!o.imageUrl) {
      throw usageError(
        "vmctl::create::sha256_without_url",
        "--image-sha256 only applies to --image-url",
        "drop --image-sha256, or download with --image-url",
      );
    }
  }
  if (o.imageUrl) {
    const sha256 = o.imageSha256 === undefined ? undefined : sha256Arg(o.imageSha256);
    const url = imageUrlArg(o.imageUrl);
    return sha256 ? { kind: "url", url, sha256 } : { kind: "url", url };
  }
  if (o.image) return { kind: "path", path: resolveUserPath(o.image) };
  throw usageError(
    "vmctl::create::no_image",
    "no image given",
    "add --image PATH (a local disk image) or --image-url URL",
  );
}

function sha256Arg(text: string): string {
  const hex = parseSha256(text);
  if (hex) return hex;
  throw usageError(
    "vmctl::create::invalid_sha256",
    `--image-sha256 must be 64 hex digits, got ${JSON.stringify(text)}`,
    "copy the digest from the image's SHA256SUMS file",
  );
}

function imageUrlArg(text: string): string {
  const url = parseImageUrl(text);
  if (url instanceof URL) return url.href;
  if (url === "bad_oci_ref") {
    throw usageError(
      "vmctl::create::invalid_url",
      `--image-url ${JSON.stringify(text)} is not an OCI reference`,
      `write it as ${OCI_REF_EXAMPLE} (repository in lower case)`,
    );
  }
  throw usageError(
    "vmctl::create::invalid_url",
    url === "not_a_url"
      ? `--image-url ${JSON.stringify(text)} is not a URL`
      : `--image-url must be http, https or oci, got ${new URL(text).protocol}`,
    url === "not_a_url"
      ? "for example: --image-url https://example.com/disk.qcow2"
      : "download the image yourself and pass --image PATH",
  );
}

function network(o: CreateOptions): NetworkConfig {
  const vnicFlags = o.vnic !== undefined || o.link !== undefined || o.pool !== undefined;
  const mode = choiceOption(
    o.network ?? (o.bridge ? "tap" : vnicFlags ? "vnic" : "user"),
    "--network",
    ["user", "tap", "none", "vnic"] as const,
  )!;
  if (vnicFlags && mode !== "vnic") {
    throw usageError(
      "vmctl::create::vnic_without_vnic_network",
      `--vnic, --link and --pool need --network vnic, not ${mode}`,
      "drop --network, or drop those options",
    );
  }
  if (mode === "vnic") return vnicNetwork(o);
  if (o.bridge !== undefined && mode !== "tap") {
    throw usageError(
      "vmctl::create::bridge_without_tap",
      `--bridge needs --network tap, not ${mode}`,
      "drop --network, or drop --bridge",
    );
  }
  if (mode === "tap") {
    const bridge = o.bridge ?? DEFAULT_BRIDGE;
    if (!BRIDGE_NAME_PATTERN.test(bridge)) {
      throw usageError(
        "vmctl::create::invalid_bridge",
        `invalid bridge name ${JSON.stringify(bridge)}`,
        `use ${BRIDGE_NAME_RULE}`,
      );
    }
    return { type: "tap", bridge };
  }
  return { type: mode };
}

/** `--network vnic` with its optional name, link and address pool, each checked as the VMFile does. */
function vnicNetwork(o: CreateOptions): NetworkConfig {
  const checked = (flag: string, value: string | undefined, pattern: RegExp, hint: string) => {
    if (value === undefined || pattern.test(value)) return value;
    throw usageError(
      "vmctl::create::invalid_vnic_option",
      `${flag} ${JSON.stringify(value)} is not valid`,
      hint,
    );
  };
  const name = checked("--vnic", o.vnic, LINK_NAME_PATTERN, LINK_NAME_HINT);
  const link = checked("--link", o.link, LINK_NAME_PATTERN, LINK_NAME_HINT);
  const pool = checked("--pool", o.pool, NAME_PATTERN, "the name of a pool of `zmgr pool list`");
  return {
    type: "vnic",
    ...(name ? { name } : {}),
    ...(link ? { link } : {}),
    ...(pool ? { pool } : {}),
  };
}

/** `--forward` values: each valid, no host port/protocol twice, user networking only. */
function forwards(o: CreateOptions, net: NetworkConfig): PortForward[] {
  const list = (o.forward ?? []).map((spec) => {
    const f = parseForwardSpec(spec);
    if (typeof f !== "string") return f;
    throw usageError(
      "vmctl::create::invalid_forward",
      `--forward ${JSON.stringify(spec)}: ${f}`,
      FORWARD_HINT,
    );
  });
  const dup = firstRepeat(list, forwardKey);
  if (dup) {
    throw usageError(
      "vmctl::create::duplicate_forward",
      `host port ${forwardKey(list[dup[1]])} is forwarded twice`,
      "keep one --forward per host port and protocol",
    );
  }
  if (list.length > 0 && net.type !== "user") {
    throw usageError(
      "vmctl::create::forward_needs_user_network",
      `--forward needs --network user, not ${net.type}`,
      "with a bridge the guest has its own address: connect to it directly",
    );
  }
  return list;
}

const FORWARD_HINT =
  "for example --forward 8080:80, --forward 5353:53/udp or --forward 0.0.0.0:8080:80";

/** `--mount` values: an existing host directory, a usable guest path, each guest path once. */
function sharedFolders(o: CreateOptions): SharedFolder[] {
  const list = (o.mount ?? []).map((spec) => {
    const m = parseMountSpec(spec);
    if (typeof m === "string") {
      throw usageError(
        "vmctl::create::invalid_mount",
        `--mount ${JSON.stringify(spec)}: ${m}`,
        MOUNT_HINT,
      );
    }
    return {
      host_path: existingPath(m.host, "--mount", "dir"),
      guest_path: m.guest,
      readonly: m.readonly,
    };
  });
  const dup = firstRepeat(list, mountKey);
  if (dup) {
    throw usageError(
      "vmctl::create::duplicate_mount",
      `${list[dup[1]].guest_path} is mounted twice`,
      "keep one --mount per guest directory",
    );
  }
  if (list.length > 0 && o.cloudInit) {
    throw usageError(
      "vmctl::create::mount_needs_cloud_init",
      "--mount cannot be combined with --cloud-init",
      "raw user-data is passed through unchanged, so vmctl could not add the mount; mount it there (9p tag vmctl0, ...)",
    );
  }
  return list;
}

const MOUNT_HINT = "for example --mount ./src:/src or --mount ~/data:/data:ro";

function existingFile(p: string, flag: string): string {
  return existingPath(p, flag, "file");
}

function existingPath(p: string, flag: string, kind: "file" | "dir"): string {
  const abs = resolveUserPath(p);
  const problem = kind === "dir" ? dirProblem(abs) : fileProblem(abs);
  if (problem) {
    throw new Diagnostic("vmctl::create::file_not_found", describeFileProblem(problem, flag, abs), {
      hint: "relative paths resolve against the directory you ran vmctl in",
    });
  }
  return abs;
}

/** The action of `vmctl create`. */
export async function createCommand(o: CreateOptions): Promise<void> {
  const config = createRequest(o);
  const ctx = opsContext({ dryRun: o.dryRun, json: o.json });
  await followCourses(ctx, [await createCourse(ctx, config, { start: o.start })]);
}
