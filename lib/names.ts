/**
 * Name validation. Every name a user gives (VM, image, zone, pool, ...) is
 * checked here before it becomes a path component or a command argument.
 *
 * @module
 */
import { Diagnostic } from "./diagnostics.ts";

/** VM names: start alphanumeric, then alphanumerics, `_`, `.`, `-`; 1..63 chars. */
export const VM_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** True when `name` is a valid VM name. */
export function isValidVmName(name: string): boolean {
  return VM_NAME_PATTERN.test(name) && name !== "." && name !== "..";
}

/** Throw `vmctl::name::invalid` unless `name` is a valid VM name. */
export function validateVmName(name: string, what = "VM name"): string {
  if (!isValidVmName(name)) {
    throw new Diagnostic(
      "vmctl::name::invalid",
      `invalid ${what} ${JSON.stringify(name)}`,
      {
        hint:
          "names start with a letter or digit, then use letters, digits, '_', '.' or '-' (at most 63 characters)",
      },
    );
  }
  return name;
}
