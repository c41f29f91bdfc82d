/**
 * Finding the disk image of an `oci://` reference with the OCI distribution
 * API: the manifest (`GET /v2/<repo>/manifests/<tag|digest>`, OCI or Docker
 * v2, an index resolved to its linux/amd64 entry), anonymous token auth (a
 * 401 with a `Bearer realm=...,service=...,scope=...` challenge is answered
 * by fetching a token from the realm, then the request is repeated), and the
 * layer that holds the disk. The layer's bytes are then downloaded like any
 * image (download.ts), checked against the layer digest.
 *
 * Which layer is the disk: the only layer; else the first whose media type
 * or title annotation marks a disk image (qcow2, raw, img, disk); else the
 * first layer, as the original vmctl pulled. A container image's tar layer
 * is refused: it holds a file system, not a disk.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Diagnostic } from "../diagnostics.ts";
import { type OciRef, registryBaseUrl, SHA256_HEX } from "../image_ref.ts";
import { errText } from "./sink.ts";

export const MEDIA = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

const ACCEPT = [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList].join(
  ", ",
);

/** A manifest larger than this is not a manifest (the spec suggests registries accept 4 MiB). */
const MANIFEST_MAX = 4 * 1024 * 1024;

/** A content descriptor (a layer, a config, an index entry). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string };
}

/** The disk layer of a reference, and how to download it. */
export interface OciLayer {
  layer: Descriptor;
  /** sha256 hex of the layer: what its bytes must hash to, and its cache key. */
  sha256: string;
  /** `GET` this (it may redirect to a storage host) with `headers`. */
  blobUrl: string;
  headers: Record<string, string>;
  /** Digest of the image manifest the layer comes from. */
  manifestDigest: string;
}

/** Speaks the distribution API to one repository, holding the token once one is fetched. */
class Registry {
  #base: string;
  #ref: OciRef;
  #fetch: typeof fetch;
  #token: string | undefined;

  constructor(ref: OciRef, doFetch: typeof fetch) {
    this.#ref = ref;
    this.#base = registryBaseUrl(ref.registry);
    this.#fetch = doFetch;
  }

  url(kind: "manifests" | "blobs", reference: string): string {
    return `${this.#base}/v2/${this.#ref.repository}/${kind}/${reference}`;
  }

  get headers(): Record<string, string> {
    return this.#token ? { authorization: `Bearer ${this.#token}` } : {};
  }

  /** GET `url`; a Bearer challenge is answered once with a token, then the request is repeated. */
  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    let res = await this.#send(url, { ...headers, ...this.headers });
    if (res.status !== 401 || this.#token) return res;
    const challenge = res.headers.get("www-authenticate");
    await res.body?.cancel();
    this.#token = await this.#fetchToken(challenge);
    res = await this.#send(url, { ...headers, ...this.headers });
    if (res.status === 401) {
      await res.body?.cancel();
      throw authFailed(this.#ref, "the registry refused the token it issued");
    }
    return res;
  }

  async #send(url: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await this.#fetch(url, { headers });
    } catch (err) {
      throw new Diagnostic(
        "vmctl::image::fetch_failed",
        `cannot reach registry ${this.#ref.registry}: ${errText(err)}`,
        { hint: "check the registry name and the network", cause: err },
      );
    }
  }

  async #fetchToken(challenge: string | null): Promise<string> {
    const params = challenge ? bearerChallenge(challenge) : undefined;
    if (!params?.realm) {
      throw authFailed(
        this.#ref,
        `the registry wants credentials (${challenge ?? "no WWW-Authenticate challenge"})`,
      );
    }
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", params.scope ?? `repository:${this.#ref.repository}:pull`);
    const res = await this.#send(url.href, {});
    if (!res.ok) {
      await res.body?.cancel();
      throw authFailed(this.#ref, `the token service answered HTTP ${res.status}`);
    }
    const body = await res.json().catch(() => ({})) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw authFailed(this.#ref, "the token service sent no token");
    return token;
  }
}

/** The parameters of a `Bearer k="v",k="v"` challenge; undefined for any other scheme. */
export function bearerChallenge(header: string): Record<string, string> | undefined {
  const m = header.match(/^\s*Bearer\s+(.*)$/i);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const p of m[1].matchAll(/([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,\s]*))/g)) {
    out[p[1].toLowerCase()] = p[2] ?? p[3];
  }
  return out;
}

function authFailed(ref: OciRef, why: string): Diagnostic {
  return new Diagnostic(
    "vmctl::image::oci_auth_failed",
    `cannot pull ${ref.repository} from ${ref.registry}: ${why}`,
    { hint: "vmctl pulls anonymously; make the image public, or pull it yourself and use a path" },
  );
}

function badManifest(ref: OciRef, why: string): Diagnostic {
  return new Diagnostic(
    "vmctl::image::oci_bad_manifest",
    `${ref.registry}/${ref.repository}: ${why}`,
    { hint: "vmctl pulls disk images pushed as OCI artifacts (e.g. with `oras push`)" },
  );
}

/** The registry's error text from a `{"errors":[{"code","message"}]}` body, if any. */
async function registryError(res: Response): Promise<string> {
  const body = await res.json().catch(() => undefined) as
    | { errors?: { code?: string; message?: string }[] }
    | undefined;
  const e = body?.errors?.[0];
  return e ? `: ${[e.code, e.message].filter(Boolean).join(" ")}` : "";
}

interface Manifest {
  doc: Record<string, unknown>;
  mediaType: string;
  digest: string;
}

/** Fetch the manifest at `reference` (a tag or a digest) and check it (see readManifest). */
async function fetchManifest(reg: Registry, ref: OciRef, reference: string): Promise<Manifest> {
  const res = await reg.get(reg.url("manifests", reference), { accept: ACCEPT });
  if (res.status === 404) {
    throw new Diagnostic(
      "vmctl::image::oci_not_found",
      `${ref.registry}/${ref.repository}:${reference} not found${await registryError(res)}`,
      { hint: "check the repository and the tag or digest" },
    );
  }
  if (!res.ok) {
    const why = `HTTP ${res.status}${await registryError(res)}`;
    throw new Diagnostic(
      "vmctl::image::http_error",
      `fetching the manifest of ${ref.registry}/${ref.repository} failed: ${why}`,
      { hint: "the registry refused it" },
    );
  }
  return await readManifest(ref, reference, res);
}

/**
 * The manifest in `res`: at most {@link MANIFEST_MAX} bytes, hashing to the digest it was fetched
 * by (for a tag, to the registry's Docker-Content-Digest when it sends one), JSON.
 */
async function readManifest(ref: OciRef, reference: string, res: Response): Promise<Manifest> {
  if (Number(res.headers.get("content-length") ?? 0) > MANIFEST_MAX) {
    await res.body?.cancel();
    throw badManifest(ref, "the manifest is too large");
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > MANIFEST_MAX) throw badManifest(ref, "the manifest is too large");
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const expected = reference.startsWith("sha256:")
    ? reference
    : res.headers.get("docker-content-digest") ?? digest;
  if (expected !== digest) {
    throw new Diagnostic(
      "vmctl::image::checksum_mismatch",
      `the manifest of ${ref.registry}/${ref.repository} does not match its digest`,
      {
        hint: "the registry sent other bytes than it names; nothing was cached",
        details: [`expected ${expected}`, `got      ${digest}`],
      },
    );
  }
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badManifest(ref, "the manifest is not JSON");
  }
  const header = res.headers.get("content-type")?.split(";")[0].trim();
  return {
    doc,
    mediaType: (doc.mediaType as string | undefined) ?? header ?? MEDIA.ociManifest,
    digest,
  };
}

/** The index entry for the host vmctl runs guests for (linux/amd64); the only entry otherwise. */
function pickPlatform(ref: OciRef, entries: Descriptor[]): Descriptor {
  if (entries.length === 1) return entries[0];
  const amd64 = entries.find((e) =>
    e.platform?.architecture === "amd64" && (e.platform.os ?? "linux") === "linux"
  );
  if (amd64) return amd64;
  const platforms = entries.map((e) =>
    `${e.platform?.os ?? "?"}/${e.platform?.architecture ?? "?"}`
  );
  throw badManifest(ref, `no linux/amd64 image in the index (it has ${platforms.join(", ")})`);
}

const DISK_MEDIA = /qcow2|raw|disk|\.img\b/i;
const DISK_TITLE = /\.(qcow2|img|raw)(\.(zst|zstd|gz|xz))?$/i;
const TAR_MEDIA = /\.tar\b|rootfs/i;

function isDisk(d: Descriptor): boolean {
  const title = d.annotations?.["org.opencontainers.image.title"] ?? "";
  return DISK_MEDIA.test(d.mediaType) || DISK_TITLE.test(title);
}

/** The layer holding the disk (see the module comment). */
export function pickDiskLayer(ref: OciRef, layers: Descriptor[]): Descriptor {
  if (!layers.length) throw badManifest(ref, "the image has no layers");
  const layer = layers.length === 1 ? layers[0] : layers.find(isDisk) ?? layers[0];
  if (TAR_MEDIA.test(layer.mediaType) && !isDisk(layer)) {
    throw badManifest(ref, `its layer is a container file system (${layer.mediaType}), not a disk`);
  }
  return layer;
}

function descriptors(ref: OciRef, value: unknown, what: string): Descriptor[] {
  const ok = Array.isArray(value) &&
    value.every((d) =>
      typeof d?.digest === "string" && d.digest.startsWith("sha256:") &&
      SHA256_HEX.test(d.digest.slice("sha256:".length)) &&
      typeof d.mediaType === "string"
    );
  if (!ok) throw badManifest(ref, `the manifest's ${what} are missing or malformed`);
  return value as Descriptor[];
}

/** Resolve `ref` to its disk layer: manifest (through an index if needed), then the layer. */
export async function resolveOciLayer(
  ref: OciRef,
  doFetch: typeof fetch = fetch,
): Promise<OciLayer> {
  const reg = new Registry(ref, doFetch);
  let m = await fetchManifest(reg, ref, ref.digest ?? ref.tag ?? "latest");
  if (m.mediaType === MEDIA.ociIndex || m.mediaType === MEDIA.dockerList) {
    const entry = pickPlatform(ref, descriptors(ref, m.doc.manifests, "manifests"));
    m = await fetchManifest(reg, ref, entry.digest);
  }
  if (m.mediaType !== MEDIA.ociManifest && m.mediaType !== MEDIA.dockerManifest) {
    throw badManifest(ref, `unsupported manifest type ${m.mediaType}`);
  }
  const layer = pickDiskLayer(ref, descriptors(ref, m.doc.layers, "layers"));
  return {
    layer,
    sha256: layer.digest.slice("sha256:".length),
    blobUrl: reg.url("blobs", layer.digest),
    headers: reg.headers,
    manifestDigest: m.digest,
  };
}
