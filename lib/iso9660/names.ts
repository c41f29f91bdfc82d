/**
 * Names in the three trees of an image: the real name (Rock Ridge NM, UTF-8),
 * the Joliet name (UCS-2, at most 64 code units) and the ECMA-119 level-1
 * name (`NAME8.EXT;1`, upper-case d-characters, unique per directory).
 *
 * A name must be representable in all three, so names Joliet forbids are
 * refused up front instead of silently appearing differently on Windows.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";

/** Joliet's limit on an identifier, in UCS-2 code units. */
export const JOLIET_MAX_NAME = 64;

// Joliet forbids U+0000-U+001F and * / : ; ? \ (Microsoft's Joliet specification).
// deno-lint-ignore no-control-regex
const JOLIET_FORBIDDEN = /[\u0000-\u001f*/:;?\\]/;

/** Throw `vmctl::iso::bad_name` unless `name` can be stored in every tree. */
export function validateEntryName(name: string, path: string): void {
  const fail = (why: string) =>
    new Diagnostic(
      "vmctl::iso::bad_name",
      `cannot store ${JSON.stringify(path)} in an ISO: ${why}`,
      {
        hint:
          "rename the file: ISO names are 1 to 64 characters without control characters or * / : ; ? \\",
      },
    );
  if (name === "" || name === "." || name === "..") throw fail("empty or `.`/`..` path component");
  if (!name.isWellFormed()) throw fail("the name is not valid Unicode");
  const bad = name.match(JOLIET_FORBIDDEN);
  if (bad) throw fail(`Joliet forbids the character ${JSON.stringify(bad[0])}`);
  if (name.length > JOLIET_MAX_NAME) {
    throw fail(`the name is ${name.length} characters long; Joliet allows ${JOLIET_MAX_NAME}`);
  }
}

/** ECMA-119 level-1 identifier of an entry: 8 name characters, 3 extension characters. */
export interface IsoName {
  name: string;
  ext: string;
  dir: boolean;
}

/** Upper-case d-characters, anything else `_`, at most `max` characters. */
function mangle(s: string, max: number): string {
  let out = "";
  for (let i = 0; i < s.length && out.length < max; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    const ok = (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
    out += ok ? String.fromCharCode(c) : "_";
  }
  return out;
}

/** The level-1 name genisoimage would pick for `name` before uniqueness is enforced. */
export function isoBaseName(name: string, dir: boolean): IsoName {
  if (dir) return { name: mangle(name, 8) || "_", ext: "", dir };
  const dot = name.lastIndexOf(".");
  const base = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot + 1) : "";
  return { name: mangle(base, 8) || "_", ext: mangle(ext, 3), dir };
}

/** The identifier bytes as stored: `NAME.EXT;1` for files, `NAME` for directories. */
export function isoIdentifier(n: IsoName): string {
  return n.dir ? n.name : `${n.name}.${n.ext};1`;
}

/**
 * Level-1 names for the entries of one directory, unique within it. Entries are
 * processed in real-name order, so the result is deterministic; a clash gets a
 * decimal counter in place of its last name characters (`USER_DAT`, `USER_DA1`).
 */
export function assignIsoNames(entries: { name: string; dir: boolean }[]): IsoName[] {
  const order = entries.map((_, i) => i).sort((a, b) => cmp(entries[a].name, entries[b].name));
  const used = new Set<string>();
  const out: IsoName[] = new Array(entries.length);
  for (const i of order) {
    const base = isoBaseName(entries[i].name, entries[i].dir);
    let candidate = base;
    for (let k = 1; used.has(key(candidate)); k++) {
      const suffix = String(k);
      candidate = { ...base, name: base.name.slice(0, Math.max(0, 8 - suffix.length)) + suffix };
    }
    used.add(key(candidate));
    out[i] = candidate;
  }
  return out;
}

// Directories and files share one namespace in a directory.
const key = (n: IsoName) => `${n.name}.${n.ext}`;

/**
 * ECMA-119 9.3 order: by name, then extension, each padded with spaces. All
 * d-characters sort above the space, so plain comparison is the same thing.
 */
export function compareIsoNames(a: IsoName, b: IsoName): number {
  return cmp(a.name, b.name) || cmp(a.ext, b.ext);
}

/** Joliet order: UCS-2 code units (JS string order is exactly that). */
export function compareJolietNames(a: string, b: string): number {
  return cmp(a, b);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
