/**
 * Helpers for reading KDL nodes strictly: every value is checked for arity,
 * type and range, and every problem becomes a diagnostic that points at the
 * offending node or value (file, line:column, code frame). Problems are
 * collected in a {@link Ctx} so a VMFile reports all of them at once.
 *
 * @module
 */
import { type Entry, getLocation, type Identifier, type Node, type Value } from "@bgotink/kdl";
import { Diagnostic, didYouMean, type SourceSpan } from "../diagnostics.ts";
import { kdlSpan } from "../kdl.ts";
import {
  describeFileProblem,
  dirProblem,
  type FileProblem,
  fileProblem as pathProblem,
} from "../files.ts";
import { resolveUserPath } from "../paths.ts";

/** Parsing state shared by every reader: the file, its text, the problems so far. */
export interface Ctx {
  file: string;
  dir: string;
  source: string;
  /** The VM whose body is being read (local files are recorded under it). */
  vm?: string;
  /** Every local file the VMFile names, checked when it is about to be used. */
  files: LocalFile[];
  diags: Diagnostic[];
}

/** What a local file is needed for: creating the VM (image, keys) or provisioning it. */
export type FileUse = "create" | "provision";

/** A local file a VMFile names, with where it is named. */
export interface LocalFile {
  vm: string;
  use: FileUse;
  /** The key that names it (`image`, `ssh-key`, `source`...). */
  what: string;
  /** As written in the VMFile. */
  raw: string;
  abs: string;
  /** A directory (a shared folder's host side) rather than a regular file. */
  dir?: boolean;
  span: SourceSpan;
}

/** Provisioners read these keys' files; every other named file is needed to create the VM. */
const PROVISION_KEYS = ["script", "source"];

/** Anything @bgotink/kdl can locate. */
type Located = Node | Entry | Value | Identifier;

/** The span of a parsed element (start position, underline to its end on the same line). */
export function spanOf(ctx: Ctx, el: Located | undefined): SourceSpan {
  return kdlSpan(ctx.file, ctx.source, el);
}

/** Record a problem at `el`. Always returns undefined so readers can `return fail(...)`. */
export function fail(
  ctx: Ctx,
  code: string,
  el: Located | undefined,
  message: string,
  hint: string,
): undefined {
  ctx.diags.push(
    new Diagnostic(`vmctl::vmfile::${code}`, message, { hint, span: spanOf(ctx, el) }),
  );
  return undefined;
}

/** The start line of an element, for "first defined at line N" hints. */
export function lineOf(el: Located): number {
  return getLocation(el)?.start.line ?? 1;
}

/** The argument entries and property entries of a node, split. */
export function entriesOf(node: Node): { args: Entry[]; props: Entry[] } {
  return {
    args: node.entries.filter((e) => e.isArgument()),
    props: node.entries.filter((e) => e.isProperty()),
  };
}

/**
 * Refuse properties not in `allowed` (did-you-mean among them) and properties
 * given twice. Returns the allowed ones by name.
 */
export function checkProps(
  ctx: Ctx,
  node: Node,
  allowed: readonly string[],
  usage: string,
): Map<string, Entry> {
  const seen = new Map<string, Entry>();
  for (const prop of entriesOf(node).props) {
    const name = prop.getName()!;
    if (!allowed.includes(name)) {
      const hint = allowed.length > 0
        ? didYouMean(name, allowed)
        : `\`${node.getName()}\` takes no properties; write \`${usage}\``;
      fail(
        ctx,
        "unknown_property",
        prop,
        `unknown property \`${name}\` on \`${node.getName()}\``,
        hint,
      );
    } else if (seen.has(name)) {
      fail(
        ctx,
        "duplicate_node",
        prop,
        `property \`${name}\` is given twice`,
        `keep one; the first is on line ${lineOf(seen.get(name)!)}`,
      );
    } else {
      seen.set(name, prop);
    }
  }
  return seen;
}

/** Refuse type annotations such as `(u8)2`: VMFile gives them no meaning. */
export function checkTags(ctx: Ctx, node: Node): void {
  if (node.tag) {
    fail(
      ctx,
      "invalid_value",
      node,
      `type annotation on \`${node.getName()}\` is not supported`,
      "remove the `(...)` annotation",
    );
  }
  for (const e of node.entries) {
    if (e.value.tag) {
      fail(
        ctx,
        "invalid_value",
        e,
        "type annotations are not supported in a VMFile",
        "remove the `(...)` annotation",
      );
    }
  }
}

/**
 * The single argument of a leaf node such as `vcpus 2`: no properties, no
 * block, exactly one argument. Problems are recorded; returns undefined then.
 */
export function leafArg(ctx: Ctx, node: Node, usage: string): Entry | undefined {
  checkTags(ctx, node);
  checkProps(ctx, node, [], usage);
  const name = node.getName();
  if (node.children) {
    fail(ctx, "invalid_value", node, `\`${name}\` takes no block`, `write \`${usage}\``);
  }
  const { args } = entriesOf(node);
  if (args.length === 0) {
    return fail(ctx, "missing_value", node, `\`${name}\` needs a value`, `write \`${usage}\``);
  }
  if (args.length > 1) {
    fail(
      ctx,
      "invalid_value",
      args[1],
      `\`${name}\` takes one value, got ${args.length}`,
      `write \`${usage}\``,
    );
    return undefined;
  }
  return args[0];
}

/** Describe a KDL value for messages: `"2048"` (a string), `2.5`, `#true`. */
function describe(e: Entry): string {
  const v = e.getValue();
  const repr = e.value.representation ?? JSON.stringify(v);
  if (typeof v === "string") return `${repr} (a string)`;
  return repr;
}

/** A non-empty string without NUL; `what` names it in messages. */
export function stringValue(ctx: Ctx, e: Entry, what: string, usage: string): string | undefined {
  const v = e.getValue();
  if (typeof v !== "string") {
    return fail(
      ctx,
      "invalid_value",
      e,
      `${what} must be a string, got ${describe(e)}`,
      `quote it: \`${usage}\``,
    );
  }
  if (v.trim() === "") {
    return fail(ctx, "invalid_value", e, `${what} must not be empty`, `write \`${usage}\``);
  }
  if (v.includes("\0")) {
    return fail(ctx, "invalid_value", e, `${what} contains a NUL character`, "remove it");
  }
  return v;
}

/** True when the literal is written as an integer (not `2.0`, `1e3`, `#inf`). */
function isIntegerLiteral(e: Entry): boolean {
  const repr = (e.value.representation ?? String(e.getValue())).replace(/^[+-]/, "");
  if (/^0[xob]/i.test(repr)) return true;
  return /^[0-9][0-9_]*$/.test(repr);
}

/** An integer in [min, max]; `unit` is shown in range messages ("MB"). */
export function intValue(
  ctx: Ctx,
  e: Entry,
  what: string,
  range: { min: number; max: number; unit?: string; example: string },
): number | undefined {
  const v = e.getValue();
  const unit = range.unit ? ` ${range.unit}` : "";
  const usage = range.example;
  if (typeof v !== "number") {
    const hint = typeof v === "string" && /^\s*-?\d+\s*$/.test(v)
      ? `numbers are written without quotes: \`${usage}\``
      : `write \`${usage}\``;
    return fail(ctx, "invalid_value", e, `${what} must be an integer, got ${describe(e)}`, hint);
  }
  if (!isIntegerLiteral(e) || !Number.isInteger(v)) {
    return fail(
      ctx,
      "invalid_value",
      e,
      `${what} must be a whole number, got ${describe(e)}`,
      `write \`${usage}\``,
    );
  }
  if (v < range.min || v > range.max || !Number.isSafeInteger(v)) {
    return fail(
      ctx,
      "invalid_value",
      e,
      `${what} must be between ${range.min} and ${range.max}${unit}, got ${describe(e)}`,
      `write \`${usage}\``,
    );
  }
  return v;
}

/** `#true` / `#false`. */
export function boolValue(ctx: Ctx, e: Entry, what: string): boolean | undefined {
  const v = e.getValue();
  if (typeof v === "boolean") return v;
  const hint = v === "true" || v === "false"
    ? `KDL v2 booleans are keywords: \`${what} #${v}\``
    : `write \`${what} #true\` or \`${what} #false\``;
  return fail(ctx, "invalid_value", e, `${what} must be #true or #false, got ${describe(e)}`, hint);
}

/** One of a fixed set of words; `code` is used for the diagnostic. */
export function enumValue<T extends string>(
  ctx: Ctx,
  e: Entry,
  what: string,
  allowed: readonly T[],
  code = "invalid_value",
): T | undefined {
  const v = e.getValue();
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    const shown = e.value.representation ?? JSON.stringify(v);
    return fail(ctx, code, e, `unknown ${what} ${shown}`, didYouMean(String(v), allowed));
  }
  return v as T;
}

/**
 * Resolve a path value against the VMFile's directory (`~` expanded) and,
 * when files are checked, require a regular file there (a directory with `dir`).
 */
export function pathValue(
  ctx: Ctx,
  e: Entry,
  what: string,
  usage: string,
  opts: { dir?: boolean } = {},
): string | undefined {
  const raw = stringValue(ctx, e, what, usage);
  if (raw === undefined) return undefined;
  if (/^~[^/]/.test(raw)) {
    return fail(
      ctx,
      "invalid_value",
      e,
      `${what} ${JSON.stringify(raw)}: only \`~\` and \`~/\` are expanded`,
      "write the home directory path in full, or `~/...` for your own",
    );
  }
  let abs: string;
  try {
    abs = resolveUserPath(raw, ctx.dir);
  } catch (err) {
    if (err instanceof Diagnostic) {
      return fail(
        ctx,
        "invalid_value",
        e,
        `cannot expand ${JSON.stringify(raw)}: ${err.message}`,
        err.hint ?? "",
      );
    }
    throw err;
  }
  ctx.files.push({
    vm: ctx.vm ?? "",
    use: PROVISION_KEYS.includes(what) ? "provision" : "create",
    what,
    raw,
    abs,
    ...(opts.dir ? { dir: true } : {}),
    span: spanOf(ctx, e),
  });
  return abs;
}

/** Why `f` cannot be used (missing, not a regular file, not readable), or undefined. */
export function fileProblem(f: LocalFile, dir: string): Diagnostic | undefined {
  const problem = f.dir ? dirProblem(f.abs) : pathProblem(f.abs); // NotCapable (missing --allow-read) is thrown, for the CLI to name the flag
  if (problem === undefined) return undefined;
  const shown = f.raw === f.abs ? f.abs : `${JSON.stringify(f.raw)} (${f.abs})`;
  return new Diagnostic(
    "vmctl::vmfile::file_not_found",
    describeFileProblem(problem, f.what, shown),
    { hint: FILE_HINTS[problem](dir), span: f.span },
  );
}

const FILE_HINTS: Record<FileProblem, (dir: string) => string> = {
  missing: (dir) => `relative paths are resolved against ${dir}; \`~\` is your home directory`,
  not_a_file: () => "point it at a file, not a directory",
  not_a_directory: () => "a shared folder's host side is a directory; point it at one",
  denied: () => "check the permissions of the file and its directories",
};
