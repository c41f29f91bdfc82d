/**
 * The start-up fast path: `vmctl list` and `vmctl list --json` are run
 * without loading commander (an npm CommonJS package: ~25 ms of a ~50 ms
 * start). Everything else, including `--help` and
 * any zmgr invocation, goes through the full command tree.
 *
 * @module
 */
import { reportError } from "../run.ts";
import { currentInvocation, invokedName } from "../invoked.ts";
// Static, not lazy: list is the one command this path runs, and one module
// graph load is cheaper than two (Deno loads each dynamic import's graph apart).
import { listCommand } from "./list.ts";

/** The action for `args` when it can skip the command tree, else undefined. */
export function fastPath(args: string[]): (() => Promise<void>) | undefined {
  const json = args.length === 2 && args[1] === "--json";
  if (args[0] !== "list" || !(args.length === 1 || json)) return undefined;
  // zmgr has a `list` of its own.
  if (invokedName(currentInvocation()) === "zmgr") return undefined;
  return () => listCommand({ json });
}

/** Run a fast-path action with the same error rendering and exit codes as the full tree. */
export async function runFast(action: () => Promise<void>): Promise<never> {
  try {
    await action();
    Deno.exit(0);
  } catch (err) {
    Deno.exit(reportError(err));
  }
}
