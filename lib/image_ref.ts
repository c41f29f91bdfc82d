/**
 * How a VM image is referred to, one rule for `vmctl create`, the VMFile and
 * the image cache: an http(s) URL with a host, an `oci://REGISTRY/REPO:TAG`
 * (or `@sha256:DIGEST`) reference, and a SHA-256 digest written as 64 hex
 * digits (a `sha256:` prefix, as in OCI digests, is allowed).
 *
 * @module
 */

/** A SHA-256 digest as the image cache stores it: 64 lower-case hex digits. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The digest `text` names, lower-case; undefined when it is not 64 hex digits. */
export function parseSha256(text: string): string | undefined {
  const hex = text.replace(/^sha256:/i, "").toLowerCase();
  return SHA256_HEX.test(hex) ? hex : undefined;
}

/** Why `text` is not an image URL vmctl downloads from. */
export type ImageUrlProblem = "not_a_url" | "bad_oci_ref" | "scheme";

/** The URL `text` names when it is an http(s) URL with a host or an OCI reference, else what is wrong with it. */
export function parseImageUrl(text: string): URL | ImageUrlProblem {
  if (/^oci:/i.test(text)) return parseOciRef(text) ? new URL(text) : "bad_oci_ref";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "not_a_url";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "scheme";
  return url.hostname ? url : "not_a_url";
}

/** An image in an OCI registry: `oci://REGISTRY/REPOSITORY[:TAG][@sha256:HEX]`. */
export interface OciRef {
  /** Host, with the port if one is given (`ghcr.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Path components, lower-case (`org/debian-disk`). */
  repository: string;
  /** The tag; `latest` when neither a tag nor a digest is given. */
  tag?: string;
  /** `sha256:HEX`: when given, the manifest fetched must have this digest. */
  digest?: string;
}

/** The example an OCI reference's hint shows. */
export const OCI_REF_EXAMPLE =
  "oci://ghcr.io/ORG/IMAGE:TAG or oci://ghcr.io/ORG/IMAGE@sha256:DIGEST";

const OCI_REF =
  /^oci:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?\/([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@sha256:([0-9a-f]{64}))?$/;

/** The registry, repository, tag and digest `text` names, or undefined when it is not `oci://...`. */
export function parseOciRef(text: string): OciRef | undefined {
  const m = text.match(OCI_REF);
  if (!m) return undefined;
  const [, host, port, repository, tag, hex] = m;
  return {
    registry: `${host.toLowerCase()}${port ?? ""}`,
    repository,
    ...(tag !== undefined || hex === undefined ? { tag: tag ?? "latest" } : {}),
    ...(hex !== undefined ? { digest: `sha256:${hex}` } : {}),
  };
}

/** Loopback registries (tests, a local registry) are spoken to over plain http; all others https. */
export function registryBaseUrl(registry: string): string {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
  return `${loopback ? "http" : "https"}://${registry}`;
}
