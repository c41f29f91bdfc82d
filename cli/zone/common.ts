/**
 * Shared pieces of the zone CLI: the registry from --root, the runner, the
 * plan of a --dry-run, and plain table/JSON printing.
 *
 * @module
 */
import { createRunner, type Runner } from "../../backends/exec.ts";
import { type Registry, registryAt } from "../../backends/zones/registry.ts";
import { type Plan, planJson, renderPlan } from "../../lib/plan.ts";
import { errorKind, host } from "../../host/mod.ts";

/** The runner of the zone commands (a dry run only plans: its queries run, nothing else). */
export function zoneRunner(): Runner {
  return createRunner();
}

/** The registry chosen by --root / $ZMGR_ROOT / /etc/zmgr. */
export function registry(opts: { root?: string }): Registry {
  return registryAt(opts.root);
}

/** Print a line to stdout. */
export function out(line = ""): void {
  if (stdoutClosed) return;
  const data = encoder.encode(line + "\n");
  let off = 0;
  try {
    while (off < data.length) off += host.stdout.writeSync(data.subarray(off));
  } catch (err) {
    // The reader went away (`zmgr list | head`): the rest of the output has
    // nobody to read it, which is not an error of the command.
    if (!(errorKind(err) === "BrokenPipe")) throw err;
    stdoutClosed = true;
  }
}

let stdoutClosed = false;

const encoder = new TextEncoder();

/** Print JSON (bigints as strings). */
export function outJson(value: unknown): void {
  out(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
}

/** Render rows as an aligned table with a header. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** Print the plan of a dry run (`json`: as data, with `extra` fields). */
export function showPlan(p: Plan, json?: boolean, extra: Record<string, unknown> = {}): void {
  if (json) return outJson({ dryRun: true, ...planJson(p), ...extra });
  out("dry run: nothing was changed");
  out(renderPlan(p));
}

/** After applying `p`: the plan as data with `--json`, else `line`. */
export function done(p: Plan, json: boolean | undefined, line: string): void {
  if (json) outJson({ applied: true, ...planJson(p) });
  else out(line);
}
