/**
 * The shared image cache under `<data>/images/`:
 *
 * - `store/<sha256>.img`: content-addressed images, named by the sha256 of the bytes as served
 *   (one hash per download: decompressed content is not hashed again). VM overlays point at these paths, so renaming never breaks a VM.
 * - `<name>`: readable names, relative symlinks into `store/`.
 * - `index.json`: one entry per pulled URL (url, name, sha256s, size, time): the cache is keyed
 *   by URL, so every VM that names the same URL shares one file.
 * - `partial/<sha256(url)>.part`: interrupted downloads, resumed by the next pull.
 *
 * Index changes happen under `index.lock` (flock) with an atomic replace.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { basename, join } from "../posix_path.ts";
import { Diagnostic } from "../diagnostics.ts";
import { isValidVmName, validateVmName } from "../names.ts";
import type { DataPaths } from "../paths.ts";
import { pathExists, replaceWith, tempPathFor, withFileLock, writeAtomic } from "../files.ts";
import { SHA256_HEX } from "../image_ref.ts";
import { host, isNotFound } from "../../host/mod.ts";

export interface ImageEntry {
  name: string;
  url: string;
  /**
   * sha256 of the bytes as served (what `--sha256` checks; for a compressed
   * download, of the compressed bytes). The stored file is store/<sha256>.img.
   */
  sha256: string;
  size: number;
  compression: string;
  pulled_at: string;
}

export interface ImageIndex {
  version: 1;
  images: ImageEntry[];
}

export interface CacheLayout {
  dir: string;
  storeDir: string;
  partialDir: string;
  indexFile: string;
  lockFile: string;
}

/** The cache paths for a data dir. */
export function cacheLayout(paths: DataPaths): CacheLayout {
  const dir = paths.imagesDir;
  return {
    dir,
    storeDir: join(dir, "store"),
    partialDir: join(dir, "partial"),
    indexFile: join(dir, "index.json"),
    lockFile: join(dir, "index.lock"),
  };
}

/** Create the cache dirs (0700). */
export async function ensureCache(c: CacheLayout): Promise<void> {
  for (const d of [c.dir, c.storeDir, c.partialDir]) {
    await host.mkdir(d, { recursive: true, mode: 0o700 });
  }
}

/** The stored file of an entry. */
export function blobPath(c: CacheLayout, sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`bad sha256 ${sha256}`);
  return join(c.storeDir, `${sha256}.img`);
}

/** The resumable part file of a URL. */
export function partPath(c: CacheLayout, url: string): string {
  return join(c.partialDir, `${sha256Hex(url)}.part`);
}

export function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** The default cache name of a URL: its last path segment without .zst/.zstd/.gz/.xz, made safe. */
export function defaultImageName(url: string): string {
  let seg = "";
  try {
    seg = decodeURIComponent(basename(new URL(url).pathname));
  } catch { /* fall through */ }
  seg = seg.replace(/\.(zst|zstd|gz|xz)$/i, "");
  const safe = seg.replace(/[^a-zA-Z0-9_.-]/g, "-").replace(/^[^a-zA-Z0-9]+/, "").slice(0, 63);
  return isValidVmName(safe) ? safe : `image-${sha256Hex(url).slice(0, 12)}`;
}

/** Validate a user-given image name (same rules as VM names). */
export function validateImageName(name: string): string {
  validateVmName(name, "image name");
  if (["index.json", "index.lock", "store", "partial"].includes(name)) {
    throw new Diagnostic("vmctl::image::reserved_name", `\`${name}\` is reserved in the cache`, {
      hint: "pick another --name",
    });
  }
  return name;
}

/** Read the index (empty if there is none). */
export async function readIndex(c: CacheLayout): Promise<ImageIndex> {
  let text: string;
  try {
    text = await host.readTextFile(c.indexFile);
  } catch (err) {
    if (isNotFound(err)) return { version: 1, images: [] };
    throw err;
  }
  try {
    const doc = JSON.parse(text) as ImageIndex;
    if (!Array.isArray(doc.images)) throw new Error("no images array");
    return doc;
  } catch (err) {
    throw new Diagnostic("vmctl::image::bad_index", `${c.indexFile} is not a valid image index`, {
      hint: "move it aside; `vmctl image pull` rebuilds entries as images are pulled again",
      cause: err,
    });
  }
}

/** Change the index under the cache lock; `fn` may mutate the document. */
export async function updateIndex<T>(
  c: CacheLayout,
  fn: (doc: ImageIndex) => T | Promise<T>,
): Promise<T> {
  await ensureCache(c);
  return await withCacheLock(c, async () => {
    const doc = await readIndex(c);
    const out = await fn(doc);
    await writeAtomic(c.indexFile, JSON.stringify(doc, null, 2) + "\n");
    return out;
  });
}

function withCacheLock<T>(c: CacheLayout, fn: () => Promise<T>): Promise<T> {
  return withFileLock(c.lockFile, fn);
}

/** Refuse a `name` taken by something that is not a cache name (a file the user put there). */
async function requireNameFree(c: CacheLayout, name: string): Promise<void> {
  const link = join(c.dir, name);
  const st = await host.lstat(link).catch(() => null);
  if (st && !st.isSymlink) {
    throw new Diagnostic("vmctl::image::name_taken", `${link} exists and is not a cache name`, {
      hint: "choose another --name or move that file away",
    });
  }
}

/** Point the readable `name` at `target` (a store file), replacing an older link atomically. */
export async function linkName(c: CacheLayout, name: string, sha256: string): Promise<string> {
  const link = join(c.dir, name);
  const tmp = tempPathFor(link);
  await host.symlink(join("store", `${sha256}.img`), tmp);
  try {
    await requireNameFree(c, name);
    await replaceWith(link, tmp);
  } catch (err) {
    await host.remove(tmp).catch(() => {});
    throw err;
  }
  return link;
}

/** What {@link storeImage} changed, for {@link unstoreImage}. */
export interface StoredImage {
  entry: ImageEntry;
  /** The content-addressed file. */
  path: string;
  /** The readable name's symlink. */
  link: string;
  /** Index entries the new one replaced (same URL or name). */
  replaced: ImageEntry[];
  /** False when the store already held these bytes. */
  newBlob: boolean;
  /** The sha256 the name pointed at before, if it was a cache name. */
  previousLinkSha256: string | null;
}

/**
 * Move the finished image `file` into the store as `entry.sha256` (one rename), record `entry`
 * in the index (replacing the entries of its URL or name) and point its name at it.
 */
export async function storeImage(
  c: CacheLayout,
  file: string,
  entry: ImageEntry,
): Promise<StoredImage> {
  await requireNameFree(c, entry.name); // before anything changes
  const path = blobPath(c, entry.sha256);
  const newBlob = !(await pathExists(path));
  await host.chmod(file, 0o600);
  // Not fsynced, like the image itself: a crash loses an entry that is pulled again.
  await replaceWith(path, file, { sync: false });
  const replaced = await updateIndex(c, (doc) => {
    const gone = doc.images.filter((e) => e.url === entry.url || e.name === entry.name);
    doc.images = doc.images.filter((e) => !gone.includes(e));
    doc.images.push(entry);
    return gone;
  });
  const previousLinkSha256 = await linkedSha256(c, entry.name);
  const link = await linkName(c, entry.name, entry.sha256);
  return { entry, path, link, replaced, newBlob, previousLinkSha256 };
}

/** Undo {@link storeImage}: the index entries, the name and a store file it added. */
export async function unstoreImage(c: CacheLayout, s: StoredImage): Promise<void> {
  const doc = await updateIndex(c, (doc) => {
    doc.images = doc.images.filter((e) => !sameEntry(e, s.entry));
    doc.images.push(...s.replaced);
    return doc;
  });
  if (s.previousLinkSha256) await linkName(c, s.entry.name, s.previousLinkSha256);
  else if (await linkedSha256(c, s.entry.name) === s.entry.sha256) await host.remove(s.link);
  if (s.newBlob && !doc.images.some((e) => e.sha256 === s.entry.sha256)) {
    await host.remove(s.path).catch(() => {});
  }
}

function sameEntry(a: ImageEntry, b: ImageEntry): boolean {
  return a.url === b.url && a.name === b.name && a.sha256 === b.sha256 &&
    a.pulled_at === b.pulled_at;
}

/** The sha256 of the store file the cache name `name` links to, or null. */
async function linkedSha256(c: CacheLayout, name: string): Promise<string | null> {
  const target = await host.readLink(join(c.dir, name)).catch(() => "");
  const sha256 = target.match(/^store\/(.+)\.img$/)?.[1];
  return sha256 && SHA256_HEX.test(sha256) ? sha256 : null;
}

/** Look an image up by cache name, URL or sha256 prefix (at least 12 hex digits). */
export function findEntry(doc: ImageIndex, key: string): ImageEntry | undefined {
  return doc.images.find((e) => e.name === key) ?? doc.images.find((e) => e.url === key) ??
    (/^[0-9a-f]{12,64}$/.test(key) ? doc.images.find((e) => e.sha256.startsWith(key)) : undefined);
}

/** Store files no index entry refers to and not in `keep` (paths used by VMs). */
export async function unreferencedBlobs(
  c: CacheLayout,
  doc: ImageIndex,
  keep: Set<string>,
): Promise<string[]> {
  const used = new Set(doc.images.map((e) => blobPath(c, e.sha256)));
  const out: string[] = [];
  try {
    for await (const e of host.readDir(c.storeDir)) {
      const p = join(c.storeDir, e.name);
      if (!used.has(p) && !keep.has(p)) out.push(p);
    }
  } catch (err) {
    if (!(isNotFound(err))) throw err;
  }
  return out.sort();
}
