/**
 * Name validation: the one place for each name rule. Every name a user gives
 * (VM, image, zone, pool, host, bridge, datalink, ...) is checked against a
 * rule from here before it becomes a path component, a guest setting or a
 * command argument, so `vmctl validate` and the command that uses the name
 * apply the same rule.
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
  return requireName(VM_NAME_RULE, name, "vmctl::name::invalid", what);
}

/** A naming rule: what it names, the test, and the hint every place that checks it gives. */
export interface NameRule {
  what: string;
  test(value: string): boolean;
  hint: string;
}

/** A rule that is one regular expression. */
export function patternRule(what: string, pattern: RegExp, hint: string): NameRule {
  return { what, test: (v) => pattern.test(v), hint };
}

const LOGIN_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * Login names vmctl creates (cloud-init) and logs in as (ssh): the portable
 * Linux rule every distribution's useradd accepts, never root (vmctl's guests
 * refuse root logins). The VMFile loader, `vmctl validate`, cloud-init,
 * `vmctl create --user` and `vmctl ssh --user` all check this one rule.
 */
export const USER_NAME_RULE: NameRule = {
  what: "user name",
  test: (v) => LOGIN_NAME.test(v) && v !== "root",
  hint:
    "use 1-32 characters: a lower-case letter or '_' first, then a-z 0-9 _ - (root cannot log in)",
};

/** VM names as a {@link NameRule} (the VMFile reports them with its own positions). */
export const VM_NAME_RULE: NameRule = {
  what: "VM name",
  test: isValidVmName,
  hint: `names ${NAME_RULE}`,
};

/**
 * Snapshot names: the VM name rule, but not all digits (QEMU looks a snapshot
 * up by its numeric ID as well as its name), and not starting with `vmctl-`
 * (vmctl's own, such as the state `stop --save` keeps).
 */
export const SNAPSHOT_NAME_RULE: NameRule = {
  what: "snapshot name",
  test: (v) => isValidVmName(v) && !/^[0-9]+$/.test(v) && !v.startsWith("vmctl-"),
  hint: `snapshot names ${NAME_RULE}; not all digits, and not starting with 'vmctl-'`,
};

/** Throw `code` with the rule's hint unless `value` follows `rule`. */
export function requireName(rule: NameRule, value: string, code: string, label?: string): string {
  if (rule.test(value)) return value;
  throw new Diagnostic(code, `invalid ${label ?? rule.what} ${JSON.stringify(value)}`, {
    hint: rule.hint,
  });
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
/** How {@link LINK_NAME_PATTERN} reads in a hint. */
export const LINK_NAME_HINT =
  "an illumos link name: starts with a letter, ends with a digit, at most 30 letters, digits, '_' or '.'";

/** RFC 1123 host names as a {@link NameRule}. */
export const HOST_NAME_RULE: NameRule = patternRule("hostname", HOSTNAME_PATTERN, HOSTNAME_RULE);
