/**
 * The one error type of vmctl: every user-facing failure is a {@link Diagnostic}
 * with a stable code (`vmctl::area::what` or `zmgr::area::what`), a message,
 * a hint and, for file errors, a source span. The CLI renders it; nothing
 * else prints errors.
 *
 * @module
 */

/** A position in a source file (1-based line and column). */
export interface SourceSpan {
  file: string;
  line: number;
  column: number;
  /** Length of the underlined region, in characters (default 1). */
  length?: number;
  /** The whole file text, used to render a code frame. */
  source?: string;
}

/** Exit code for user errors (bad input, failed operation). */
export const EXIT_USER = 1;
/** Exit code for usage errors (unknown option, missing argument). */
export const EXIT_USAGE = 2;

export interface DiagnosticInit {
  hint?: string;
  span?: SourceSpan;
  /** Extra lines shown under the message (stderr of a failed command, ...). */
  details?: string[];
  exitCode?: number;
  cause?: unknown;
}

/** A user-facing error with a stable code. */
export class Diagnostic extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly span?: SourceSpan;
  readonly details: string[];
  readonly exitCode: number;

  constructor(code: string, message: string, init: DiagnosticInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "Diagnostic";
    this.code = code;
    this.hint = init.hint;
    this.span = init.span;
    this.details = init.details ?? [];
    this.exitCode = init.exitCode ?? EXIT_USER;
  }

  /** Plain-data form, used by `--json` outputs and tests. */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      hint: this.hint ?? null,
      span: this.span
        ? { file: this.span.file, line: this.span.line, column: this.span.column }
        : null,
      details: this.details,
    };
  }
}

/** Several diagnostics at once (a VMFile with many problems reports them all). */
export class DiagnosticList extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => `${d.code}: ${d.message}`).join("\n"));
    this.name = "DiagnosticList";
    this.diagnostics = diagnostics;
  }
}

/** Flatten anything thrown into a list of diagnostics for rendering. */
export function toDiagnostics(err: unknown): Diagnostic[] {
  if (err instanceof DiagnosticList) return err.diagnostics;
  if (err instanceof Diagnostic) return [err];
  return [fromUnknownError(err)];
}

/**
 * Map errors we did not raise ourselves onto diagnostics: a permission that
 * Deno withheld names the missing flag; anything else is an internal error.
 */
export function fromUnknownError(err: unknown): Diagnostic {
  if (err instanceof Diagnostic) return err;
  const node = nodePermissionRefusal(err);
  if (node) return node;
  const message = err instanceof Error ? err.message : String(err);
  // Deno's module loader reports a withheld permission as a TypeError: vmctl
  // loads a command's modules on demand (deno.json: lazy-dynamic-imports).
  const loader = err instanceof Error && err.name === "TypeError" &&
    /^Requires \w+ access to/.test(message);
  if (
    err instanceof Error &&
    (err.name === "NotCapable" || err.name === "PermissionDenied" || loader) &&
    /--allow-[a-z]+/.test(message)
  ) {
    const flag = message.match(/--allow-[a-z]+/)![0];
    return new Diagnostic(
      "vmctl::permission::denied",
      `permission withheld: ${firstLine(message)}`,
      {
        hint: `run with ${flag} (or the scoped set used by \`deno task vmctl\`)`,
        details: loader
          ? [
            "run from source, vmctl reads its own modules on demand: a narrowed --allow-read must include its directory",
          ]
          : undefined,
        cause: err,
      },
    );
  }
  return new Diagnostic("vmctl::internal", `internal error: ${firstLine(message)}`, {
    hint: "this is a bug in vmctl; rerun with VMCTL_LOG=debug for the stack trace and report it",
    cause: err,
  });
}

/** Node's permission model (`--permission`) names what it refused, not the flag: we do. */
const NODE_PERMISSION_FLAGS: Record<string, string> = {
  FileSystemRead: "--allow-fs-read",
  FileSystemWrite: "--allow-fs-write",
  ChildProcess: "--allow-child-process",
  WorkerThreads: "--allow-worker",
  AddonsAccess: "--allow-addons",
};

function nodePermissionRefusal(err: unknown): Diagnostic | undefined {
  const e = err as { code?: unknown; permission?: unknown; resource?: unknown };
  if (!(err instanceof Error) || e.code !== "ERR_ACCESS_DENIED") return undefined;
  const flag = NODE_PERMISSION_FLAGS[String(e.permission)] ?? "the matching --allow-* flag";
  const what = typeof e.resource === "string" ? ` (${e.resource})` : "";
  return new Diagnostic(
    "vmctl::permission::denied",
    `permission withheld: ${String(e.permission ?? "access")}${what} needs ${flag}`,
    { hint: `run with ${flag} (see docs/distribution.md for the scoped set)`, cause: err },
  );
}

function firstLine(s: string): string {
  return s.split("\n")[0];
}

export interface RenderOptions {
  color: boolean;
  /** Print the stack of the underlying error (VMCTL_LOG=debug). */
  stack?: boolean;
}

const paint = (on: boolean, code: string, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

/** Render a diagnostic for a terminal: code, message, code frame, details, hint. */
export function renderDiagnostic(d: Diagnostic, opts: RenderOptions): string {
  const c = opts.color;
  const lines: string[] = [];
  lines.push(`${paint(c, "1;31", "error")}${paint(c, "1", `[${d.code}]`)}: ${d.message}`);
  if (d.span) {
    lines.push(`  ${paint(c, "34", "-->")} ${d.span.file}:${d.span.line}:${d.span.column}`);
    lines.push(...codeFrame(d.span, c));
  }
  for (const detail of d.details) lines.push(`  ${detail}`);
  if (d.hint) lines.push(`  ${paint(c, "36", "hint")}: ${d.hint}`);
  if (opts.stack) {
    const cause = d.cause instanceof Error ? d.cause : d;
    if (cause.stack) lines.push(paint(c, "2", cause.stack));
  }
  return lines.join("\n");
}

/** A few lines of source around the span with a caret under the column. */
export function codeFrame(span: SourceSpan, color = false): string[] {
  if (!span.source) return [];
  const src = span.source.split("\n");
  const out: string[] = [];
  const first = Math.max(1, span.line - 1);
  const last = Math.min(src.length, span.line + 1);
  const width = String(last).length;
  for (let n = first; n <= last; n++) {
    const gutter = `${String(n).padStart(width)} |`;
    out.push(`  ${paint(color, "34", gutter)} ${src[n - 1] ?? ""}`);
    if (n === span.line) {
      const blank = `${" ".repeat(width)} |`;
      const caret = "^".repeat(Math.max(1, span.length ?? 1));
      out.push(
        `  ${paint(color, "34", blank)} ${" ".repeat(Math.max(0, span.column - 1))}${
          paint(color, "1;31", caret)
        }`,
      );
    }
  }
  return out;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The closest known word to `word`, if it is close enough to be a likely typo. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = k;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(word.length / 3))
    ? best
    : undefined;
}

/** "did you mean `x`?" hint text, or a list of the allowed words. */
export function didYouMean(word: string, known: readonly string[]): string {
  const s = suggest(word, known);
  return s
    ? `did you mean \`${s}\`?`
    : `expected one of: ${known.map((k) => `\`${k}\``).join(", ")}`;
}
