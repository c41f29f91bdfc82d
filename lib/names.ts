/**
 * Name validation: the one place for each name rule. Every name a user gives
 * (VM, image, zone, pool, host, bridge, datalink, ...) is checked against a
 * rule from here before it becomes a path component, a guest setting or a
 * command argument, so `vmctl validate` and the command that uses the name
 * apply the same rule. (SSH user names have their rule in their own place.)
 *
 * @module
 */
import { Diagnostic } from "./diagnostics.ts";

/**
 * Names of things vmctl keeps files for (VMs, images, zones, pools, templates,
 * publishers): start alphanumeric, then alphanumerics, `_`, `.`, `-`; 1..63 chars.
 */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** How {@link NAME_PATTERN} reads in a hint, after "VM names", "zone names", .... */
export const NAME_RULE =
  "start with a letter or digit, then use letters, digits, '_', '.' or '-' (at most 63 characters)";

/** True when `name` is a valid VM name. */
export function isValidVmName(name: string): boolean {
  return NAME_PATTERN.test(name) && name !== "." && name !== "..";
}

/** Throw `vmctl::name::invalid` unless `name` is a valid VM name. */
export function validateVmName(name: string, what = "VM name"): string {
  if (!isValidVmName(name)) {
    throw new Diagnostic(
      "vmctl::name::invalid",
      `invalid ${what} ${JSON.stringify(name)}`,
      { hint: `names ${NAME_RULE}` },
    );
  }
  return name;
}

/** RFC 1123 host names: dot-separated labels of letters, digits and inner '-', at most 253 characters. */
export const HOSTNAME_PATTERN =
  /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** How {@link HOSTNAME_PATTERN} reads in a hint. */
export const HOSTNAME_RULE =
  "use letters, digits and '-' in dot-separated labels of at most 63 characters, not starting or ending with '-'";

/** Linux interface (bridge) names: at most 15 characters, never starting with `-` or `.`. */
export const BRIDGE_NAME_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,14}$/;

/** How {@link BRIDGE_NAME_PATTERN} reads in a hint. */
export const BRIDGE_NAME_RULE =
  "a Linux interface name: 1-15 letters, digits, '_', '.', '-', not starting with '-' or '.'";

/** illumos datalink (VNIC) names, as dladm_valid_linkname: letter first, digit last, at most 30. */
export const LINK_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.]{0,28}[0-9]$/;
