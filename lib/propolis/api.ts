/**
 * Facts of the propolis-server REST API that every client of it shares
 * (illumos-facts.md §7): the version vmctl speaks, the header that carries
 * it, and the port each VM's own server listens on inside its zone.
 *
 * @module
 */

/** The API version vmctl speaks (propolis-server spec 5.0.0); sent on every request. */
export const PROPOLIS_API_VERSION = "5.0.0";

/** The header dropshot reads the client's API version from (a request without it gets 400). */
export const API_VERSION_HEADER = "api-version";

/** The port each VM's propolis-server listens on, on its zone's own address. */
export const PROPOLIS_PORT = 12400;

/** The headers of every request vmctl sends to a propolis-server. */
export function propolisHeaders(json = false): Record<string, string> {
  return {
    [API_VERSION_HEADER]: PROPOLIS_API_VERSION,
    ...(json ? { "content-type": "application/json" } : {}),
  };
}
