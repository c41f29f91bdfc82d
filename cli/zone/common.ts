/**
 * Shared pieces of the zone CLI: the registry from --root, a runner that
 * remembers which commands change the system (for --dry-run output), and
 * plain table/JSON printing.
 *
 * @module
 */
import {
  createRunner,
  formatArgv,
  type RecordedCommand,
  type Runner,
} from "../../backends/exec.ts";
import { type Registry, registryAt } from "../../backends/zones/registry.ts";

/** A runner plus the mutating commands it ran or, in a dry run, recorded. */
export interface ZoneRunner extends Runner {
  readonly mutating: RecordedCommand[];
}

/** A runner for the zone commands; with dryRun, mutating commands are only recorded. */
export function zoneRunner(dryRun: boolean): ZoneRunner {
  const base = createRunner({ dryRun });
  const mutating: RecordedCommand[] = [];
  return {
    dryRun,
    recorded: base.recorded,
    mutating,
    run(argv, o = {}) {
      if (!o.readOnly) {
        const stdin = typeof o.stdin === "string" ? o.stdin : undefined;
        mutating.push(stdin === undefined ? { argv: [...argv] } : { argv: [...argv], stdin });
      }
      return base.run(argv, o);
    },
  };
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
    while (off < data.length) off += Deno.stdout.writeSync(data.subarray(off));
  } catch (err) {
    // The reader went away (`zmgr list | head`): the rest of the output has
    // nobody to read it, which is not an error of the command.
    if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
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

/** The commands of a dry run, with stdin shown indented under its command. */
export function renderCommands(cmds: RecordedCommand[]): string[] {
  const lines: string[] = [];
  for (const c of cmds) {
    lines.push(`  ${formatArgv(c.argv)}${c.stdin !== undefined ? "   <<script on stdin>>" : ""}`);
    if (c.stdin !== undefined) {
      for (const l of c.stdin.replace(/\n$/, "").split("\n")) lines.push(`      ${l}`);
    }
  }
  return lines;
}

/** Show a file a dry run would write. */
export function renderFile(path: string, text: string): string[] {
  return [`would write ${path}:`, ...text.replace(/\n$/, "").split("\n").map((l) => `      ${l}`)];
}
