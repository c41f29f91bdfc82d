/**
 * The plan/apply seam. A mutating command first builds a {@link Plan}: the
 * typed steps it will take, each with the step that undoes it. One `apply`
 * (backends/apply.ts) runs a plan and undoes the completed steps in reverse
 * when a step fails or the user interrupts; one renderer prints it for
 * `--dry-run`, so a dry run shows exactly the steps that would be applied.
 *
 * This module is pure: the types, the constructors' data and the renderers.
 * The side-effecting halves of the steps are closures made by the backends.
 *
 * @module
 */

/** What a step does, as data: what `--dry-run` prints and `--json` emits. */
export type Action =
  /** Run a program (argv array, never a shell string), optionally feeding stdin. */
  | { kind: "run"; argv: string[]; stdin?: string }
  /** Write a file atomically with a mode; `text` is shown when the content is text. */
  | { kind: "write"; path: string; mode: number; text?: string; bytes?: number }
  | { kind: "mkdir"; path: string; mode: number }
  | { kind: "remove"; path: string }
  /** A change to a state file made under its lock (vms.json, a registry entry). */
  | { kind: "store"; file: string; change: string }
  /** An HTTP request (JSON body). */
  | {
    kind: "http";
    method: string;
    url: string;
    headers?: Record<string, string>;
    body?: unknown;
  }
  /** A step made of several calls that vmctl itself performs (download, seed build); one fact a line. */
  | { kind: "task"; detail: string };

/** The undo of a step. */
export interface Undo {
  action: Action;
  /**
   * Also undo when the step itself failed: for steps that can fail half-way
   * and leave something behind (zonecfg commits what it could, then exits 1).
   * Such an undo must be safe when the step did nothing.
   */
  afterFailure?: boolean;
  run: () => Promise<unknown>;
}

/** One typed step of a plan. */
export interface Step {
  /** What the step achieves, as a verb phrase ("create the VNIC"). */
  title: string;
  action: Action;
  /**
   * Do it. `interrupted` aborts when SIGINT/SIGTERM arrives: a long step (a
   * copy of gigabytes) may stop early instead of at the next step boundary.
   */
  run: (interrupted: AbortSignal) => Promise<unknown>;
  undo?: Undo;
}

/** The steps of one operation, in order, with a title ("create zone web01"). */
export interface Plan {
  title: string;
  steps: Step[];
}

/** A plan for `title` with `steps`. */
export function plan(title: string, steps: Step[] = []): Plan {
  return { title, steps };
}

/** Help text of `--json` on a command that has `--dry-run`. */
export const PLAN_JSON_HELP = "with --dry-run: print the plan as JSON";

/** The plan as plain data (`--dry-run --json`). */
export function planJson(p: Plan): Record<string, unknown> {
  return {
    title: p.title,
    steps: p.steps.map((s) => ({
      title: s.title,
      action: s.action,
      undo: s.undo ? s.undo.action : null,
    })),
  };
}

/** The plan for people: numbered steps, each with its command and undo. */
export function renderPlan(p: Plan): string {
  const lines = [`plan: ${p.title}`];
  if (p.steps.length === 0) lines.push("  nothing to do");
  p.steps.forEach((s, i) => {
    lines.push(`  ${i + 1}. ${s.title}`);
    for (const l of describeAction(s.action)) lines.push(`       ${l}`);
    if (s.undo) lines.push(`       undo: ${describeAction(s.undo.action)[0]}`);
  });
  return lines.join("\n");
}

/** One or more lines describing an action (the first line alone must stand on its own). */
export function describeAction(a: Action): string[] {
  switch (a.kind) {
    case "run": {
      const head = `$ ${formatArgv(a.argv)}`;
      if (a.stdin === undefined) return [head];
      return [`${head} <<'EOF'`, ...a.stdin.replace(/\n$/, "").split("\n"), "EOF"];
    }
    case "write": {
      const head = `write ${a.path} (mode ${octal(a.mode)}${
        a.bytes === undefined ? "" : `, ${a.bytes} bytes`
      })`;
      if (a.text === undefined) return [head];
      return [head, ...a.text.replace(/\n$/, "").split("\n").map((l) => `| ${l}`)];
    }
    case "mkdir":
      return [`mkdir ${a.path} (mode ${octal(a.mode)})`];
    case "remove":
      return [`remove ${a.path}`];
    case "store":
      return [`${a.file}: ${a.change}`];
    case "http": {
      const head = `${a.method} ${a.url}`;
      const headers = Object.entries(a.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
      const body = a.body === undefined ? [] : JSON.stringify(a.body, null, 2).split("\n");
      return [head, ...headers, ...body];
    }
    case "task":
      return a.detail.split("\n");
  }
}

/** Render argv for people, quoting where a shell would need it; never passed to a shell. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((
    a,
  ) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}
