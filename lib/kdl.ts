/**
 * What the strict KDL readers (VMFile, zone registry) share: one parse that
 * turns every syntax error into a located problem, and one way to point at a
 * parsed element. Each reader words its diagnostics with its own codes.
 *
 * @module
 */
import { type Document, getLocation, InvalidKdlError, parse } from "@bgotink/kdl";
import type { SourceSpan } from "./diagnostics.ts";

/** One KDL syntax error, located at its culprit. */
export interface KdlSyntaxProblem {
  /** The parser's message without its trailing position. */
  message: string;
  line: number;
  column: number;
  length: number;
}

/** Parse `source`, or return every syntax problem (each once, at its culprit). */
export function parseKdlStrict(
  source: string,
  o: { locations: boolean },
): { doc: Document } | { problems: KdlSyntaxProblem[] } {
  try {
    return { doc: parse(source, { storeLocations: o.locations }) };
  } catch (err) {
    if (!(err instanceof InvalidKdlError)) throw err;
    const seen = new Set<string>();
    const problems: KdlSyntaxProblem[] = [];
    for (const e of err.flat()) {
      const message = e.message.replace(/ at (\d+:\d+|end of input)$/, "");
      const key = `${e.start?.offset}:${message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const better = culprit(source, message, e.start?.offset);
      const at = better ?? e.start ?? { line: 1, column: 1 };
      const length = better
        ? better.length
        : e.end && e.start && e.end.line === e.start.line
        ? Math.max(1, e.end.column - e.start.column)
        : 1;
      problems.push({ message, line: at.line, column: at.column, length });
    }
    return { problems };
  }
}

/**
 * The parser reports some errors at the token after the culprit (`uefi true`
 * at the newline, an unterminated string at the end of the file); point at
 * the culprit itself instead.
 */
function culprit(
  source: string,
  message: string,
  offset: number | undefined,
): { line: number; column: number; length: number } | undefined {
  if (offset === undefined) return undefined;
  const keyword = message.match(/^Invalid keyword "([^"]+)"/)?.[1];
  let start = -1;
  let length = 1;
  if (keyword) {
    start = source.lastIndexOf(keyword, offset - 1);
    length = keyword.length;
  } else if (/^Unexpected EOF inside string/.test(message)) {
    start = source.lastIndexOf('"', offset - 1);
  }
  if (start < 0) return undefined;
  const before = source.slice(0, start);
  const line = before.split("\n").length;
  return { line, column: start - before.lastIndexOf("\n"), length };
}

/** Anything @bgotink/kdl can locate (a node, entry, value or identifier). */
export type KdlElement = Parameters<typeof getLocation>[0];

/** The span of a parsed element in `file` (its start; underlined to its end on the same line). */
export function kdlSpan(file: string, source: string, el: KdlElement | undefined): SourceSpan {
  const loc = el ? getLocation(el) : undefined;
  if (!loc) return { file, line: 1, column: 1, source };
  const sameLine = loc.end.line === loc.start.line;
  return {
    file,
    line: loc.start.line,
    column: loc.start.column,
    length: sameLine ? Math.max(1, loc.end.column - loc.start.column) : 1,
    source,
  };
}
