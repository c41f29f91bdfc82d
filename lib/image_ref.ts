/**
 * How a VM image is referred to, one rule for `vmctl create`, the VMFile and
 * the image cache: an http(s) URL with a host, and a SHA-256 digest written
 * as 64 hex digits (a `sha256:` prefix, as in OCI digests, is allowed).
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
export type ImageUrlProblem = "not_a_url" | "oci" | "scheme";

/** The URL `text` names when it is an http(s) URL with a host, else what is wrong with it. */
export function parseImageUrl(text: string): URL | ImageUrlProblem {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "not_a_url";
  }
  if (url.protocol === "oci:") return "oci";
  if (url.protocol !== "http:" && url.protocol !== "https:") return "scheme";
  return url.hostname ? url : "not_a_url";
}
