/**
 * POSIX path helpers with node:path's semantics (isAbsolute, normalize, join,
 * resolve, dirname, basename). Importing `node:path` boots Deno's Node
 * compatibility layer at start-up (docs/benchmarks.md, list); the modules on
 * the `vmctl list` path use these instead (tests compare them with node:path).
 *
 * @module
 */
import { host } from "../host/mod.ts";

/** The path separator. */
export const sep = "/";

/** True for paths starting at the root. */
export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** Collapse `//`, `.` and `..` segments; keeps a trailing slash; "" is ".". */
export function normalize(p: string): string {
  if (p === "") return ".";
  const abs = isAbsolute(p);
  const trailing = p.endsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
    } else out.push(seg);
  }
  let s = out.join("/");
  if (abs) s = "/" + s;
  else if (s === "") s = ".";
  if (trailing && s !== "/") s += "/";
  return s;
}

/** Join segments and normalise; empty segments are ignored. */
export function join(...parts: string[]): string {
  const kept = parts.filter((x) => x !== "");
  return kept.length ? normalize(kept.join("/")) : ".";
}

/** Resolve right to left until a path is absolute (else from the cwd); no trailing slash. */
export function resolve(...parts: string[]): string {
  let acc = "";
  for (let i = parts.length - 1; i >= 0 && !isAbsolute(acc); i--) {
    if (parts[i] !== "") acc = acc ? `${parts[i]}/${acc}` : parts[i];
  }
  if (!isAbsolute(acc)) acc = acc ? `${host.cwd()}/${acc}` : host.cwd();
  const n = normalize(acc);
  return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** The directory part of `p` (node's algorithm, quirks included: `dirname("a//b")` is "a/"). */
export function dirname(p: string): string {
  if (p === "") return ".";
  const hasRoot = p[0] === "/";
  let end = -1;
  let matchedSlash = true;
  for (let i = p.length - 1; i >= 1; --i) {
    if (p[i] === "/") {
      if (!matchedSlash) {
        end = i;
        break;
      }
    } else matchedSlash = false;
  }
  if (end === -1) return hasRoot ? "/" : ".";
  if (hasRoot && end === 1) return "//";
  return p.slice(0, end);
}

/** The last segment of `p` (trailing slashes ignored). */
export function basename(p: string): string {
  const trimmed = p.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
