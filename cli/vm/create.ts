/**
 * `vmctl create`: turn the book's options into a {@link CreateRequest}, check
 * them all before anything touches the disk, then create (and `--start`).
 *
 * @module
 */
import { type Accel, ACCELS, type CloudInitSpec, type NetworkConfig } from "../../lib/types.ts";
import { resolveUserPath } from "../../lib/paths.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { USER_NAME_RULE } from "../../lib/names.ts";
import { describeFileProblem, fileProblem, isFile } from "../../lib/files.ts";
import { requestedAccel } from "../../lib/defaults.ts";
import { BRIDGE_NAME_PATTERN, BRIDGE_NAME_RULE } from "../../lib/names.ts";
import type { ImageSource } from "../../lib/vmfile/types.ts";
import { defaultBackendTag } from "../../backends/router.ts";
import { choiceOption, intOption, opsContext, usageError, vmNameArg } from "../common.ts";
import { type CreateRequest, createVm, planCreate } from "./create_flow.ts";
import { transition } from "./transitions.ts";

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
  cloudInit?: string;
  sshKey?: string;
  user: string;
  uefi?: boolean;
  accel?: string;
  vnc?: boolean;
  start?: boolean;
  dryRun?: boolean;
}

/** Sane upper bounds: refuse obvious typos (a 10^9 MB VM) before QEMU does. */
export const LIMITS = {
  vcpus: { min: 1, max: 256 },
  memory: { min: 16, max: 4 * 1024 * 1024 },
  disk: { min: 1, max: 64 * 1024 },
} as const;

/** Validate every option and build the request. Pure apart from `stat` of the named files. */
export function createRequest(o: CreateOptions): CreateRequest {
  const name = vmNameArg(o.name);
  const image = imageSource(o);
  const vcpus = intOption(o.vcpus, "--vcpus", LIMITS.vcpus)!;
  const memoryMb = intOption(o.memory, "--memory", LIMITS.memory)!;
  const diskGb = intOption(o.disk, "--disk", LIMITS.disk);
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
  return {
    name,
    backend: defaultBackendTag(),
    image,
    vcpus,
    memoryMb,
    diskGb,
    network: network(o),
    uefi: o.uefi ?? false,
    accel: accel as Accel,
    vnc: o.vnc ?? false,
    cloudInit,
    sshUser: o.user,
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
    if (!/^[0-9a-fA-F]{64}$/.test(o.imageSha256)) {
      throw usageError(
        "vmctl::create::invalid_sha256",
        `--image-sha256 must be 64 hex digits, got ${JSON.stringify(o.imageSha256)}`,
        "copy the digest from the image's SHA256SUMS file",
      );
    }
  }
  if (o.imageUrl) {
    let url: URL;
    try {
      url = new URL(o.imageUrl);
    } catch {
      throw usageError(
        "vmctl::create::invalid_url",
        `--image-url ${JSON.stringify(o.imageUrl)} is not a URL`,
        "for example: --image-url https://example.com/disk.qcow2",
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw usageError(
        "vmctl::create::invalid_url",
        `--image-url must be http or https, got ${url.protocol}`,
        "download the image yourself and pass --image PATH",
      );
    }
    return o.imageSha256
      ? { kind: "url", url: url.href, sha256: o.imageSha256.toLowerCase() }
      : { kind: "url", url: url.href };
  }
  if (o.image) return { kind: "path", path: resolveUserPath(o.image) };
  throw usageError(
    "vmctl::create::no_image",
    "no image given",
    "add --image PATH (a local disk image) or --image-url URL",
  );
}

function network(o: CreateOptions): NetworkConfig {
  const mode = choiceOption(
    o.network ?? (o.bridge ? "tap" : "user"),
    "--network",
    [
      "user",
      "tap",
      "none",
    ] as const,
  )!;
  if (o.bridge !== undefined && mode !== "tap") {
    throw usageError(
      "vmctl::create::bridge_without_tap",
      `--bridge needs --network tap, not ${mode}`,
      "drop --network, or drop --bridge",
    );
  }
  if (mode === "tap") {
    const bridge = o.bridge ?? "br0";
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

function existingFile(p: string, flag: string): string {
  const abs = resolveUserPath(p);
  const problem = fileProblem(abs);
  if (problem) {
    throw new Diagnostic("vmctl::create::file_not_found", describeFileProblem(problem, flag, abs), {
      hint: "relative paths resolve against the directory you ran vmctl in",
    });
  }
  return abs;
}

/** The action of `vmctl create`. */
export async function createCommand(o: CreateOptions): Promise<void> {
  const req = createRequest(o);
  const ctx = opsContext({ dryRun: o.dryRun });
  if (ctx.dryRun) {
    for (const line of await planCreate(ctx, req)) ctx.say(line);
    if (o.start) ctx.say(`would start VM '${req.name}' (--start)`);
    ctx.say("dry run: nothing was changed");
    return;
  }
  const rec = await createVm(ctx, req);
  ctx.say(`VM '${rec.name}' created (id: ${rec.id})`);
  if (o.start) {
    await transition(ctx, rec.name, "start").catch((err) => {
      throw keptAfterFailedStart(rec.name, err);
    });
    ctx.say(`VM '${rec.name}' started`);
  }
}

/** A start that fails after a create keeps the VM (state failed); say so under the error. */
export function keptAfterFailedStart(name: string, err: unknown): unknown {
  if (err instanceof Diagnostic) {
    err.details.push(
      `VM '${name}' was created but did not start: \`vmctl start ${name}\` retries, \`vmctl destroy ${name}\` removes it`,
    );
  }
  return err;
}
