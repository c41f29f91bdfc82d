/**
 * Image volumes: each cached image is written once into a raw ZFS volume
 * named by its digest, frozen as `@base`, and every VM disk made from it is a
 * clone of that snapshot. An import is done under a lock (two creates of one
 * image import it once) and undone if it fails half-way; a finished import
 * is kept like the image cache.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { withFileLock } from "../../lib/files.ts";
import type { DataPaths } from "../../lib/paths.ts";
import { basename, join } from "../../lib/posix_path.ts";
import { baseSnapshot, imageVolume, zvolDevice } from "../../lib/propolis/layout.ts";
import { formatArgv } from "../../lib/plan.ts";
import { host } from "../../host/mod.ts";
import { SHA256_HEX } from "../../lib/image_ref.ts";
import type { Runner } from "../exec.ts";
import { assertNoBackingFile, imageInfo } from "../qemu/img.ts";
import { zoneAltroot } from "../zones/create.ts";

/** The volume for a plan, before the image is resolved (its digest is not known yet). */
export function planImageVolume(zfsPool: string): { dataset: string; detail: string } {
  const dataset = imageVolume(zfsPool, "<sha256 of the image>");
  return {
    dataset,
    detail: [
      `unless ${baseSnapshot(dataset)} exists:`,
      formatArgv(["zfs", "create", "-p", "-V", "<image size>", dataset]),
      formatArgv(["qemu-img", "convert", "-n", "-O", "raw", "<image>", zvolDevice(dataset)]),
      formatArgv(["zfs", "snapshot", baseSnapshot(dataset)]),
    ].join("\n"),
  };
}

/** What an import gives: the volume, and its size in bytes. */
export interface ImageVolume {
  dataset: string;
  bytes: number;
}

/** ZFS volumes are sized in multiples of their block size; a MiB is one for every block size. */
const VOLSIZE_STEP = 1024 * 1024;

/** Import `imagePath` into its volume unless it is there; returns the volume. */
export async function importImageVolume(
  runner: Runner,
  paths: DataPaths,
  zfsPool: string,
  imagePath: string,
  interrupted: AbortSignal,
): Promise<ImageVolume> {
  const dataset = imageVolume(zfsPool, await imageDigest(imagePath));
  await host.mkdir(paths.imagesDir, { recursive: true, mode: 0o700 });
  return await withFileLock(join(paths.imagesDir, "volumes.lock"), async () => {
    const have = await volumeSize(runner, baseSnapshot(dataset));
    if (have !== undefined) return { dataset, bytes: have };
    // A volume without @base is an import that was cut short: start it again.
    if (await volumeSize(runner, dataset) !== undefined) await destroy(runner, dataset);
    const info = await imageInfo(runner, imagePath);
    assertNoBackingFile(info);
    const bytes = Math.ceil(info.virtualSize / VOLSIZE_STEP) * VOLSIZE_STEP;
    await zfs(runner, ["create", "-p", "-V", String(bytes), dataset]);
    try {
      interrupted.throwIfAborted();
      await runner.run(
        [
          "qemu-img",
          "convert",
          "-n",
          "-f",
          info.format,
          "-O",
          "raw",
          imagePath,
          join(zoneAltroot(), zvolDevice(dataset)),
        ],
        {
          timeoutMs: 60 * 60_000,
          errorCode: "vmctl::propolis::image_import",
          hint:
            "qemu-img writes the image into the volume's device; its error is above (it must be installed on the host: docs/propolis.md)",
        },
      );
      await zfs(runner, ["snapshot", baseSnapshot(dataset)]);
    } catch (err) {
      await destroy(runner, dataset).catch(() => {});
      throw err;
    }
    return { dataset, bytes };
  });
}

/**
 * The image's identity: the digest the cache names it by, else the sha256 of
 * the file (an image given by path).
 */
async function imageDigest(path: string): Promise<string> {
  const cached = basename(path).replace(/\.img$/, "");
  if (SHA256_HEX.test(cached)) return cached;
  const hash = createHash("sha256");
  const file = await host.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** `volsize` of dataset or snapshot `ds` in bytes; undefined when zfs says it does not exist. */
async function volumeSize(runner: Runner, ds: string): Promise<number | undefined> {
  const argv = ["zfs", "get", "-H", "-p", "-o", "value", "volsize", ds];
  const r = await runner.run(argv, { check: false, timeoutMs: 60_000 });
  if (r.code === 0) return Number(r.stdout.trim());
  if (/dataset does not exist/.test(r.stderr)) return undefined;
  throw new Diagnostic(
    "zmgr::system::query_failed",
    `\`${formatArgv(argv)}\` failed (exit ${r.code}) without saying whether the volume exists`,
    {
      details: r.stderr.trim().split("\n").slice(-5),
      hint: "nothing was changed; run the command by hand to see why it fails, fix that, and retry",
    },
  );
}

function zfs(runner: Runner, args: string[]) {
  return runner.run(["zfs", ...args], {
    errorCode: "zmgr::exec::failed",
    hint: "check the ZFS pool (zpool status, zfs list)",
  });
}

function destroy(runner: Runner, ds: string) {
  return zfs(runner, ["destroy", ds]);
}
