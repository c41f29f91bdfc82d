/**
 * The start-up fast path: `vmctl list` and `vmctl list --json` are run
 * without loading commander (an npm CommonJS package: ~25 ms of a ~50 ms
 * start). Everything else, including `--help` and
 * any zmgr invocation, goes through the full command tree.
 *
 * @module
 */
import { reportError } from "../run.ts";
import { basename } from "../../lib/posix_path.ts";

/** The action for `args` when it can skip the command tree, else undefined. */
export function fastPath(args: string[]): (() => Promise<void>) | undefined {
  const json = args.length === 2 && args[1] === "--json";
  if (args[0] !== "list" || !(args.length === 1 || json)) return undefined;
  if (invokedAsZmgr()) return undefined;
  return async () => {
    const { listCommand } = await import("./list.ts");
    await listCommand({ json });
  };
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

/**
 * True when invoked as zmgr: as the script name (a symlinked script or
 * bundle) or as argv[0] (`exec -a zmgr` launchers, compiled binaries).
 * Reading argv[0] boots Deno's Node layer (~10 ms); it is the one Node cost
 * the fast path still pays, because zmgr has a `list` command of its own.
 */
function invokedAsZmgr(): boolean {
  const name = (p: string) => basename(p).replace(/\.(ts|js)$/, "");
  if (name(Deno.mainModule) === "zmgr") return true;
  // deno-lint-ignore no-explicit-any
  const argv0 = (globalThis as any).process?.argv0 as string | undefined;
  return name(argv0 ?? "") === "zmgr";
}
