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
import {
  OCI_REF_EXAMPLE,
  type OciRef,
  parseImageUrl,
  parseOciRef,
  parseSha256,
} from "../image_ref.ts";
import type { DataPaths } from "../paths.ts";
import type { ImageSource } from "../vmfile/types.ts";
import {
  blobPath,
  type CacheLayout,
  cacheLayout,
  defaultImageName,
  ensureCache,
  findEntry,
  type ImageEntry,
  type ImageIndex,
  linkName,
  partPath,
  readIndex,
  storeImage,
  updateIndex,
  validateImageName,
} from "./cache.ts";
import { discardPart, download, type DownloadResult } from "./download.ts";
import { isOffline, refuseDownloadOffline } from "../offline.ts";
import { resolveOciLayer } from "./oci.ts";
import { assertSelfContained } from "./qcow2.ts";

export interface ResolveImageOptions {
  /** Print progress (TTY bar or plain lines). */
  progress?: boolean;
}

export interface PullOptions {
  /** Cache name (default: the URL's last segment without .zst/.zstd/.gz). */
  name?: string;
  /** Expected sha256 of the bytes as served (of an OCI reference: of its disk layer). */
  sha256?: string;
  progress?: boolean;
  /** For tests: the fetch to use. */
  fetch?: typeof fetch;
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
    const oci = parseOciRef(url);
    if (oci) return await pullOci(c, oci, { url, name, part, want, opts });
    const got = await download(url, part, {
      sha256: want,
      progress: opts.progress,
      label: name,
      fetch: opts.fetch,
    });
    return await store(c, { url, name, part }, got);
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

/** What one pull is about: the reference, its cache name and its part file. */
interface Pulling {
  url: string;
  name: string;
  part: string;
}

/** Move a finished download into the store and record it under `p.url` and `p.name`. */
async function store(c: CacheLayout, p: Pulling, got: DownloadResult): Promise<PullResult> {
  await assertSelfContained(got.file).catch(async (err) => {
    await discardPart(p.part);
    throw err;
  });
  const stored = await storeImage(c, got.file, {
    name: p.name,
    url: p.url,
    sha256: got.sourceSha256,
    size: got.size,
    compression: got.compression,
    pulled_at: new Date().toISOString(),
  });
  await discardPart(p.part);
  return { entry: stored.entry, path: stored.path, link: stored.link, downloaded: true };
}

/** Add the index entry of `p` for a stored file, and point its name at it. */
async function record(
  c: CacheLayout,
  p: Pulling,
  file: Pick<ImageEntry, "sha256" | "size" | "compression">,
  downloaded: boolean,
): Promise<PullResult> {
  const entry: ImageEntry = {
    name: p.name,
    url: p.url,
    ...file,
    pulled_at: new Date().toISOString(),
  };
  await updateIndex(c, (doc) => {
    doc.images = doc.images.filter((e) => e.url !== p.url && e.name !== p.name);
    doc.images.push(entry);
  });
  const link = await linkName(c, p.name, entry.sha256);
  return { entry, path: blobPath(c, entry.sha256), link, downloaded };
}

/**
 * Pull the disk layer of an OCI reference: the layer's digest is its cache key, so a layer
 * already stored (pulled under another tag or digest) is recorded without downloading it.
 */
async function pullOci(
  c: CacheLayout,
  ref: OciRef,
  p: Pulling & { want?: string; opts: PullOptions },
): Promise<PullResult> {
  const found = await resolveOciLayer(ref, p.opts.fetch);
  if (p.want && p.want !== found.sha256) {
    throw new Diagnostic("vmctl::image::checksum_mismatch", `checksum mismatch for ${p.url}`, {
      hint: "the image's disk layer is not the one expected; nothing was cached",
      details: [`expected sha256 ${p.want}`, `layer    ${found.layer.digest}`],
    });
  }
  if (isFile(blobPath(c, found.sha256))) {
    const same = (await readIndex(c)).images.find((e) => e.sha256 === found.sha256);
    const { size, compression } = same ?? { size: found.layer.size, compression: "none" };
    return await record(c, p, { sha256: found.sha256, size, compression }, false);
  }
  const got = await download(found.blobUrl, p.part, {
    sha256: found.sha256,
    headers: found.headers,
    progress: p.opts.progress,
    label: p.name,
    fetch: p.opts.fetch,
  });
  return await store(c, p, got);
}

function findCached(
  doc: ImageIndex,
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
  if (u === "bad_oci_ref") {
    throw new Diagnostic("vmctl::image::bad_oci_ref", `\`${url}\` is not an OCI reference`, {
      hint: `write it as ${OCI_REF_EXAMPLE} (repository in lower case)`,
    });
  }
  throw new Diagnostic("vmctl::image::bad_url", `unsupported URL scheme ${new URL(url).protocol}`, {
    hint: "use an http:// or https:// URL, or an oci:// reference",
  });
}
