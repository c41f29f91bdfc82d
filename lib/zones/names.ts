/**
 * Name rules for zones, VNICs and registry entities. Every name is checked
 * here before it becomes a file name, a zonecfg value or a command argument.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { LINK_NAME_PATTERN, NAME_PATTERN, NAME_RULE } from "../names.ts";

/** illumos zone names (alphanumeric first, then `[A-Za-z0-9_.-]`, at most 63): the shared name rule. */
export const ZONE_NAME = NAME_PATTERN;

/** Pool, template and publisher names (file names under the registry): the shared name rule. */
export const ENTITY_NAME = NAME_PATTERN;

/** dladm link names: letter first, `[A-Za-z0-9_.]`, ends in a digit, at most 30 characters. */
export const LINK_NAME = LINK_NAME_PATTERN;

/** Throw `zmgr::name::invalid` unless `name` is a usable zone name. */
export function validateZoneName(name: string): string {
  if (!ZONE_NAME.test(name) || name === "global" || name.startsWith("SUNW")) {
    throw new Diagnostic("zmgr::name::invalid", `invalid zone name ${JSON.stringify(name)}`, {
      hint: `zone names ${NAME_RULE}; \`global\` and names starting with SUNW are reserved`,
    });
  }
  return name;
}

/** Throw `zmgr::name::invalid` unless `name` is a usable pool/template/publisher name. */
export function validateEntityName(name: string, what: string): string {
  if (!ENTITY_NAME.test(name) || name === "." || name === "..") {
    throw new Diagnostic("zmgr::name::invalid", `invalid ${what} name ${JSON.stringify(name)}`, {
      hint: `${what} names ${NAME_RULE}`,
    });
  }
  return name;
}

/** Throw `zmgr::name::invalid_link` unless `name` is a valid dladm link name. */
export function validateLinkName(name: string, what = "VNIC"): string {
  if (!LINK_NAME.test(name)) {
    throw new Diagnostic(
      "zmgr::name::invalid_link",
      `invalid ${what} name ${JSON.stringify(name)}`,
      {
        hint:
          "datalink names start with a letter, use letters, digits, '_' or '.', end in a digit and have at most 30 characters",
      },
    );
  }
  return name;
}

/** A ZFS file system below a pool (`pool/zones`), in the characters libzfs accepts. */
export const DATASET_NAME = /^[A-Za-z][A-Za-z0-9_.:-]*(\/[A-Za-z0-9_.:-]+)+$/;

/** Throw `zmgr::name::invalid_dataset` unless `name` is such a dataset name. */
export function validateDatasetName(name: string): string {
  if (!DATASET_NAME.test(name)) {
    throw new Diagnostic(
      "zmgr::name::invalid_dataset",
      `invalid dataset name ${JSON.stringify(name)}`,
      {
        hint: "give POOL/NAME, e.g. rpool/zones (letters, digits, '_', '.', ':', '-')",
      },
    );
  }
  return name;
}

/** The default VNIC name pattern: the zone name followed by `0`. */
export const DEFAULT_VNIC_PATTERN = "{name}0";

/**
 * The VNIC name for `zone` from `pattern` (`{name}` is replaced by the zone
 * name), made valid for any dladm: characters other than letters, digits
 * and `_` (`-`, and `.` which older libdladm refuses) become `_`, a
 * leading digit gets a `z` prefix, the result is cut to 30 characters keeping
 * the trailing digits, and a `0` is appended if it does not end in a digit.
 */
export function vnicNameFor(zone: string, pattern: string = DEFAULT_VNIC_PATTERN): string {
  // Only [A-Za-z0-9_]: older libdladm refuses '.' in link names.
  let s = pattern.replaceAll("{name}", zone).replace(/[^A-Za-z0-9_]/g, "_");
  if (!/^[A-Za-z]/.test(s)) s = `z${s}`;
  if (!/[0-9]$/.test(s)) s = `${s}0`;
  if (s.length > 30) {
    const digits = s.match(/[0-9]+$/)![0].slice(-10);
    s = s.slice(0, 30 - digits.length) + digits;
  }
  return validateLinkName(s);
}
