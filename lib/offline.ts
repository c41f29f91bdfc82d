/**
 * Offline mode (`--offline`, `VMCTL_OFFLINE=1`): vmctl never opens a network
 * connection and never has a tool it runs fetch from one. Images come from
 * the cache only; one that would have to be downloaded is a diagnostic naming
 * the URL and how to import it; a zone template naming a network package
 * repository is refused.
 *
 * @module
 */
import { Diagnostic } from "./diagnostics.ts";
import { env } from "./paths.ts";

/** The environment variable that turns offline mode on. */
export const OFFLINE_ENV = "VMCTL_OFFLINE";

/** Values of VMCTL_OFFLINE that leave offline mode off. */
const OFF = new Set(["", "0", "false", "no", "off"]);

let forced = false;

/** Turn offline mode on for this process (`--offline`). */
export function goOffline(): void {
  forced = true;
}

/** True when vmctl must not touch the network. */
export function isOffline(): boolean {
  if (forced) return true;
  const v = env(OFFLINE_ENV);
  return v !== undefined && !OFF.has(v.trim().toLowerCase());
}

/** How to leave offline mode, for hints. */
export const GO_ONLINE = `go online: drop --offline, unset ${OFFLINE_ENV}`;

/** Refuse a download of `url` (expected to have `sha256`, if given) in offline mode. */
export function refuseDownloadOffline(url: string, sha256?: string): void {
  if (!isOffline()) return;
  const check = sha256 ? ` --sha256 ${sha256}` : "";
  throw new Diagnostic(
    "vmctl::image::offline_missing",
    `offline: ${url} is not in the image cache${sha256 ? ` with sha256 ${sha256}` : ""}`,
    {
      hint:
        `copy the image file to this host and run \`vmctl image import FILE --url ${url}${check}\`` +
        ` (or go online: drop --offline, unset ${OFFLINE_ENV})`,
    },
  );
}
