import type { Command } from "@commander-js/extra-typings";

/** Registers `vmctl ssh` (filled in by the SSH issue). */
// deno-lint-ignore no-explicit-any
export function registerSshCommand(_program: Command<any, any, any>): void {}
