import type { Command } from "@commander-js/extra-typings";

/** Registers this group's commands (filled in by the issue that owns them). */
// deno-lint-ignore no-explicit-any
export function registerImageCommands(_program: Command<any, any, any>): void {}
