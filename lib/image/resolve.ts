/**
 * From an image source to a local base image path: a local path is checked
 * and absolutised; a URL is served from the shared cache or downloaded into
 * it (resumable, verified, decompressed while streaming).
 *
 * @module
 */
import { isAbsolute, resolve } from "../posix_path.ts";
import { Diagnostic } from "../diagnostics.ts";
import { describeFileProblem, fileProblem, isFile, withFileLock } from "../files.ts";
import { parseImageUrl, parseSha256 } from "../image_ref.ts";
import type { DataPaths } from "../paths.ts";
import type { ImageSource } from "../vmfile/types.ts";
import {
  blobPath,
  cacheLayout,
  defaultImageName,
  ensureCache,
  findEntry,
  type ImageEntry,
  linkName,
  partPath,
  readIndex,
  storeImage,
  validateImageName,
} from "./cache.ts";
import { discardPart, download } from "./download.ts";
import { isOffline, refuseDownloadOffline } from "../offline.ts";
import { assertSelfContained } from "./qcow2.ts";
import { host } from "../../host/mod.ts";

export interface ResolveImageOptions {
  /** Print progress (TTY bar or plain lines). */
  progress?: boolean;
}

export interface PullOptions {
  /** Cache name (default: the URL's last segment without .zst/.zstd/.gz). */
  name?: string;
  /** Expected sha256 of the bytes as served. */
  sha256?: string;
  progress?: boolean;
}

export interface PullResult {
  entry: ImageEntry;
  /** The content-addressed file. */
  path: string;
  /** The readable name's symlink. */
  link: string;
  /** False when the image was already cached. */
  downloaded: boolean;
}

/** Return the absolute path of a usable local base image for `source`, downloading if needed. */
export async function resolveImage(
  source: ImageSource,
  paths: DataPaths,
  opts: ResolveImageOptions = {},
): Promise<string> {
  if (source.kind === "path") {
    const p = isAbsolute(source.path) ? source.path : resolve(source.path);
    const problem = fileProblem(p);
    if (problem) {
      throw new Diagnostic("vmctl::image::not_found", describeFileProblem(problem, "image", p), {
        hint: "check the path (relative paths resolve against the VMFile or current directory)",
      });
    }
    await assertSelfContained(p);
    return p;
  }
  const r = await pullImage(source.url, paths, { sha256: source.sha256, progress: opts.progress });
  return r.path;
}

/**
 * In offline mode, refuse a URL image that is not cached now, before anything changes (so a
 * `--dry-run` refuses it too). Online, or for a local path, this checks nothing.
 */
export async function requireCachedWhenOffline(
  source: ImageSource,
  paths: DataPaths,
): Promise<void> {
  if (source.kind !== "url" || !isOffline()) return;
  const c = cacheLayout(paths);
  const cached = findCached(await readIndex(c), source.url, wantedSha256(source.sha256));
  if (!cached || !isFile(blobPath(c, cached.sha256))) {
    refuseDownloadOffline(source.url, source.sha256);
  }
}

/** Make sure `url` is in the cache; download it if it is not (or its file went missing). */
export async function pullImage(
  url: string,
  paths: DataPaths,
  opts: PullOptions = {},
): Promise<PullResult> {
  checkUrl(url);
  const want = wantedSha256(opts.sha256);
  const name = opts.name !== undefined ? validateImageName(opts.name) : defaultImageName(url);
  const c = cacheLayout(paths);
  await ensureCache(c);
  const part = partPath(c, url);
  // One puller per URL at a time; a second one waits and then finds the image cached.
  return await withFileLock(`${part}.lock`, async () => {
    const cached = findCached(await readIndex(c), url, want);
    if (cached && isFile(blobPath(c, cached.sha256))) {
      const link = await linkName(c, opts.name ?? cached.name, cached.sha256);
      return { entry: cached, path: blobPath(c, cached.sha256), link, downloaded: false };
    }
    const got = await download(url, part, { sha256: want, progress: opts.progress, label: name });
    await assertSelfContained(got.file).catch(async (err) => {
      await discardPart(part);
      throw err;
    });
    const stored = await storeImage(c, got.file, {
      name,
      url,
      sha256: got.sourceSha256,
      size: got.size,
      compression: got.compression,
      pulled_at: new Date().toISOString(),
    });
    await discardPart(part);
    return { entry: stored.entry, path: stored.path, link: stored.link, downloaded: true };
  });
}

/** The expected sha256 `text` names (lower-case), or `vmctl::image::bad_sha256`. */
export function wantedSha256(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const want = parseSha256(text);
  if (want !== undefined) return want;
  throw new Diagnostic("vmctl::image::bad_sha256", `\`${text}\` is not a sha256`, {
    hint: "give 64 hexadecimal digits (the output of sha256sum)",
  });
}

function findCached(
  doc: Awaited<ReturnType<typeof readIndex>>,
  url: string,
  sha256?: string,
): ImageEntry | undefined {
  const e = findEntry(doc, url);
  if (!e || e.url !== url) return undefined;
  // A different expected checksum than the one we verified means the user expects other bytes.
  if (sha256 && e.sha256 !== sha256) return undefined;
  return e;
}

/** Refuse what is not an http(s) image URL. */
export function checkUrl(url: string): void {
  const u = parseImageUrl(url);
  if (u instanceof URL) return;
  if (u === "not_a_url") {
    throw new Diagnostic("vmctl::image::bad_url", `\`${url}\` is not a URL`, {
      hint: "give an http:// or https:// URL, or use a local path with --image",
    });
  }
  throw new Diagnostic("vmctl::image::bad_url", `unsupported URL scheme ${new URL(url).protocol}`, {
    hint: u === "oci"
      ? "OCI registries are not supported yet; download the qcow2 and use a local path"
      : "use an http:// or https:// URL",
  });
}
