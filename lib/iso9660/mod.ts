/**
 * A general ISO 9660 image writer: ECMA-119 primary volume, Joliet
 * supplementary volume and Rock Ridge (SUSP SP/CE/ER, RRIP PX/TF/NM), so
 * Linux, the BSDs, macOS, Windows and libarchive all see the exact names.
 * Deterministic for a given timestamp, and small (no padding).
 *
 * ```ts
 * await buildIsoFile([{ path: "user-data", data }], { volumeId: "cidata" }, "seed.iso", {
 *   mode: 0o600,
 * });
 * // or in two steps, with the layout in between:
 * const layout = await planIso([{ path: "user-data", data }], { volumeId: "cidata" });
 * await writeIsoFile(layout, "seed.iso", { mode: 0o600 });
 * ```
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { env } from "../paths.ts";
import { type IsoEntry, type IsoLayout, type IsoOptions, layoutIso } from "./layout.ts";
import { writeIsoFile, type WriteIsoOptions } from "./write.ts";
import { errorKind, host, isNotFound } from "../../host/mod.ts";
import type { FileInfo } from "../../host/mod.ts";

export type { IsoEntry, IsoLayout } from "./layout.ts";
export { isoBytes, writeIsoFile, type WriteIsoOptions } from "./write.ts";
export { SECTOR } from "./encode.ts";

export interface PlanOptions {
  /** Volume label (`cidata` for a cloud-init seed). */
  volumeId: string;
  /** The one timestamp of the image; default {@link defaultTimestamp}. */
  timestamp?: Date;
  applicationId?: string;
}

/**
 * `SOURCE_DATE_EPOCH` (whole seconds) when set, so two builds of the same
 * input are byte-identical; otherwise the current time, whole seconds.
 */
export function defaultTimestamp(): Date {
  const sde = env("SOURCE_DATE_EPOCH");
  if (sde !== undefined && sde !== "") {
    if (!/^\d{1,12}$/.test(sde)) {
      throw new Diagnostic(
        "vmctl::iso::bad_source_date_epoch",
        `SOURCE_DATE_EPOCH=${sde} is not a number of seconds`,
        {
          hint: "set it to a Unix timestamp such as 1700000000, or unset it",
        },
      );
    }
    return new Date(Number(sde) * 1000);
  }
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

/** Stat `sourcePath` entries and lay the image out. */
export async function planIso(entries: IsoEntry[], opts: PlanOptions): Promise<IsoLayout> {
  return layoutIso(await sizeEntries(entries), layoutOptions(opts));
}

/** Stat `sourcePath` entries, lay the image out and write it to `path` atomically. */
export async function buildIsoFile(
  entries: IsoEntry[],
  opts: PlanOptions,
  path: string,
  writeOpts: WriteIsoOptions = {},
): Promise<IsoLayout> {
  const layout = await planIso(entries, opts);
  await writeIsoFile(layout, path, writeOpts);
  return layout;
}

function layoutOptions(opts: PlanOptions): IsoOptions {
  return {
    volumeId: opts.volumeId,
    timestamp: opts.timestamp ?? defaultTimestamp(),
    applicationId: opts.applicationId,
  };
}

/** Entries with the size of every `sourcePath` filled in. */
async function sizeEntries(entries: IsoEntry[]): Promise<IsoEntry[]> {
  const sized: IsoEntry[] = [];
  for (const e of entries) {
    if (e.sourcePath !== undefined && e.data === undefined && e.size === undefined) {
      sized.push({ ...e, size: (await statRegular(e.sourcePath)).size });
    } else sized.push(e);
  }
  return sized;
}

async function statRegular(path: string): Promise<FileInfo> {
  let info: FileInfo;
  try {
    info = await host.stat(path);
  } catch (err) {
    if (isNotFound(err)) {
      throw new Diagnostic("vmctl::iso::source_missing", `${path} does not exist`, {
        hint: "check the path",
        cause: err,
      });
    }
    throw err;
  }
  if (!info.isFile) {
    throw new Diagnostic("vmctl::iso::unsupported_file_type", `${path} is not a regular file`, {
      hint: "only regular files and directories can be added",
    });
  }
  return info;
}

/**
 * Entries for every file and directory under `dir`, placed under `prefix` in
 * the image, in sorted order. Symbolic links and special files are refused
 * rather than silently dropped.
 */
export function entriesFromDirectory(dir: string, prefix = ""): Promise<IsoEntry[]> {
  const out: IsoEntry[] = [];
  // Synchronous calls: a tree of many files is walked without a promise per file.
  const walk = (abs: string, rel: string) => {
    const items = [...host.readDirSync(abs)];
    items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of items) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      const src = `${abs}/${e.name}`; // abs is already a clean path: no join/normalize per file
      if (e.isDirectory) {
        out.push({ path: p, directory: true, mode: 0o555 });
        walk(src, p);
      } else if (e.isFile) {
        out.push({ path: p, sourcePath: src, size: host.statSync(src).size, mode: 0o444 });
      } else {
        throw new Diagnostic(
          "vmctl::iso::unsupported_file_type",
          `${src} is not a regular file or directory`,
          { hint: "symbolic links and special files cannot be added; copy the target instead" },
        );
      }
    }
  };
  try {
    walk(dir, prefix);
  } catch (err) {
    if (errorKind(err) === "NotADirectory") {
      return Promise.reject(
        new Diagnostic("vmctl::iso::not_a_directory", `${dir} is not a directory`, {
          hint: "--add takes a directory whose contents go to the image root",
        }),
      );
    }
    if (isNotFound(err)) {
      return Promise.reject(
        new Diagnostic("vmctl::iso::source_missing", `${dir} does not exist`, {
          hint: "check the path",
          cause: err,
        }),
      );
    }
    return Promise.reject(err);
  }
  return Promise.resolve(out);
}
