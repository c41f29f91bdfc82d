/**
 * qemu-img calls: probing an image (format, virtual size, backing file) and
 * creating a VM's qcow2 overlay. lib/ never spawns processes, so these live
 * here and take the runner.
 *
 * @module
 */
import { isAbsolute } from "../../lib/posix_path.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import type { Runner } from "../exec.ts";

/** What `qemu-img info --output=json` says about an image. */
export interface ImageInfo {
  path: string;
  format: string;
  virtualSize: number;
  actualSize: number | null;
  backingFile: string | null;
  /** The raw JSON, for `image inspect --json`. */
  raw: Record<string, unknown>;
}

/**
 * Probe `path` with qemu-img (read-only). `forceShare` reads an image a
 * running QEMU holds open (its header, not a consistent view of the data).
 */
export async function imageInfo(
  runner: Runner,
  path: string,
  o: { forceShare?: boolean } = {},
): Promise<ImageInfo> {
  const share = o.forceShare ? ["-U"] : [];
  const res = await runner.run(["qemu-img", "info", ...share, "--output=json", "--", path], {
    timeoutMs: 30_000,
    errorCode: "vmctl::image::unreadable",
    hint: "is it a disk image? `qemu-img info` could not read it",
  });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(res.stdout);
  } catch {
    throw new Diagnostic("vmctl::image::unreadable", `qemu-img gave no JSON for ${path}`, {
      hint: "check the qemu-utils installation",
      details: res.stdout.split("\n").slice(0, 5),
    });
  }
  return {
    path,
    format: typeof raw.format === "string" ? raw.format : "raw",
    virtualSize: Number(raw["virtual-size"] ?? 0),
    actualSize: typeof raw["actual-size"] === "number" ? raw["actual-size"] as number : null,
    backingFile: typeof raw["backing-filename"] === "string"
      ? raw["backing-filename"] as string
      : null,
    raw,
  };
}

/**
 * Refuse a base image that names a backing file: an untrusted download must
 * not make QEMU read a host file through its header.
 */
export function assertNoBackingFile(info: ImageInfo): void {
  if (info.backingFile) {
    throw new Diagnostic(
      "vmctl::image::has_backing_file",
      `image ${info.path} names a backing file (${info.backingFile})`,
      {
        hint:
          "a base image must be self-contained; flatten it first: qemu-img convert -O qcow2 IN OUT",
      },
    );
  }
}

/** Only formats QEMU can safely open as a base for an overlay. */
const BASE_FORMATS = new Set(["qcow2", "raw", "vmdk", "vdi", "vhdx", "vpc", "qed"]);

/**
 * Create `<overlay>` as a qcow2 overlay on the absolute `base`, sized to
 * `diskGb` GiB when given. Refuses a size smaller than the base.
 */
export async function createOverlay(
  runner: Runner,
  base: string,
  overlay: string,
  diskGb?: number,
): Promise<ImageInfo> {
  if (!isAbsolute(base)) {
    // qemu-img resolves a relative -b against the overlay's directory (verified): never pass one.
    throw new Error(`createOverlay: base path must be absolute, got ${base}`);
  }
  const info = await imageInfo(runner, base);
  assertNoBackingFile(info);
  if (!BASE_FORMATS.has(info.format)) {
    throw new Diagnostic("vmctl::image::bad_format", `image ${base} has format ${info.format}`, {
      hint: `use a disk image in one of: ${[...BASE_FORMATS].join(", ")}`,
    });
  }
  const argv = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", info.format, "-b", base, overlay];
  if (diskGb !== undefined) {
    const bytes = diskGb * 1024 ** 3;
    if (bytes < info.virtualSize) {
      throw new Diagnostic(
        "vmctl::qemu::disk_too_small",
        `disk ${diskGb} GB is smaller than the image's ${gib(info.virtualSize)} GiB`,
        { hint: `use a disk size of at least ${Math.ceil(info.virtualSize / 1024 ** 3)} GB` },
      );
    }
    argv.push(`${bytes}`);
  }
  await runner.run(argv, { timeoutMs: 60_000, errorCode: "vmctl::qemu::overlay_failed" });
  return info;
}

function gib(n: number): string {
  return (n / 1024 ** 3).toFixed(1);
}
