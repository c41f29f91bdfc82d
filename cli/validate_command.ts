import type { Command } from "@commander-js/extra-typings";

/** Registers `vmctl validate` (filled in by the VMFile work). */
// deno-lint-ignore no-explicit-any
export function registerValidateCommand(_program: Command<any, any, any>): void {}
