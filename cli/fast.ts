/**
 * The start-up fast path: `vmctl list [--json]` and well-formed `vmctl seed`
 * invocations run without loading commander (an npm CommonJS package: ~25 ms
 * of a ~50 ms start; both have start-up targets in docs/benchmarks.md).
 * Everything else, including `--help`, anything this parser does not fully
 * understand (commander then reports it) and any zmgr invocation, goes
 * through the full command tree.
 *
 * @module
 */
import { reportError } from "./run.ts";
import { currentInvocation, invokedName } from "./invoked.ts";
// Static, not lazy: list is the hot command, and one module graph load is
// cheaper than two (Deno loads each dynamic import's graph apart).
import { listCommand } from "./vm/list.ts";
import { SEED_OPTIONS, seedAction, type SeedOptions } from "./seed_command.ts";

/** The action for `args` when it can skip the command tree, else undefined. */
export function fastPath(args: string[]): (() => Promise<void>) | undefined {
  if (args[0] !== "list" && args[0] !== "seed") return undefined;
  // zmgr has commands of its own.
  if (invokedName(currentInvocation()) === "zmgr") return undefined;
  if (args[0] === "list") {
    const json = args.length === 2 && args[1] === "--json";
    return args.length === 1 || json ? () => listCommand({ json }) : undefined;
  }
  const seed = parseSeedArgs(args.slice(1));
  return seed && (() => seedAction(seed.output, seed.opts));
}

/**
 * `seed` arguments in the forms commander accepts (`--opt value`,
 * `--opt=value`, one OUTPUT anywhere); undefined for anything else (help,
 * unknown or repeated options, a missing value, `--`, a value that starts
 * with `-`), which the full tree then handles or reports.
 */
export function parseSeedArgs(
  args: string[],
): { output: string; opts: SeedOptions } | undefined {
  const keys = new Map<string, string>(SEED_OPTIONS.map(([flag, key]) => [flag, key]));
  const opts: Record<string, string | string[]> = {};
  let output: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("-")) {
      if (output !== undefined) return undefined;
      output = a;
      continue;
    }
    const eq = a.indexOf("=");
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const key = keys.get(flag);
    const value = eq > 0 ? a.slice(eq + 1) : args[++i];
    if (!key || value === undefined || (eq < 0 && value.startsWith("-"))) return undefined;
    if (key === "add") opts.add = [...(opts.add ?? []), value];
    else if (key in opts) return undefined;
    else opts[key] = value;
  }
  return output === undefined ? undefined : { output, opts: opts as SeedOptions };
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
