/**
 * A NoCloud seed ISO: `user-data`, `meta-data` and optionally
 * `network-config` / `vendor-data` at the root of a volume labelled
 * `cidata`, written by the pure-TypeScript ISO writer.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { buildIsoFile, type IsoEntry, type IsoLayout } from "../iso9660/mod.ts";
import { errorKind, host, isNotFound } from "../../host/mod.ts";

/** The label cloud-init looks for (lower case works with every cloud-init version). */
export const SEED_LABEL = "cidata";

export interface SeedFiles {
  userData: Uint8Array;
  metaData: Uint8Array;
  networkConfig?: Uint8Array;
  vendorData?: Uint8Array;
}

/**
 * The ISO entries of a seed. user-data is 0400 inside the image because it
 * may carry a private host key; cloud-init reads it as root.
 */
export function seedEntries(f: SeedFiles): IsoEntry[] {
  const entries: IsoEntry[] = [
    { path: "user-data", data: f.userData, mode: 0o400 },
    { path: "meta-data", data: f.metaData, mode: 0o444 },
  ];
  if (f.networkConfig) entries.push({ path: "network-config", data: f.networkConfig, mode: 0o444 });
  if (f.vendorData) entries.push({ path: "vendor-data", data: f.vendorData, mode: 0o444 });
  return entries;
}

/**
 * Write a seed ISO (plus `extra` entries, e.g. a directory added with
 * `vmctl seed --add`) to `path` atomically, mode 0600 (it may hold a private
 * host key). `sync: false` skips the fsync (see docs/seed.md).
 */
export async function writeSeedIso(
  path: string,
  f: SeedFiles,
  opts: { timestamp?: Date; extra?: IsoEntry[]; sync?: boolean } = {},
): Promise<IsoLayout> {
  return await buildIsoFile(
    [...seedEntries(f), ...(opts.extra ?? [])],
    { volumeId: SEED_LABEL, timestamp: opts.timestamp },
    path,
    { mode: 0o600, sync: opts.sync },
  );
}

/** Read an input file for the seed (user-data, network-config, ...) with a clear diagnostic. */
export async function readSeedInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await host.readFile(path);
  } catch (err) {
    if (isNotFound(err)) {
      throw new Diagnostic(
        "vmctl::cloudinit::file_not_found",
        `${what} file ${path} does not exist`,
        {
          hint: `check the ${what} path`,
          cause: err,
        },
      );
    }
    if (errorKind(err) === "IsADirectory") {
      throw new Diagnostic(
        "vmctl::cloudinit::file_not_found",
        `${what} path ${path} is a directory`,
        {
          hint: `pass a ${what} file`,
        },
      );
    }
    throw err;
  }
}
