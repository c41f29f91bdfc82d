/**
 * The directory tree of an image, built from its entries: parents implied by
 * paths, every name checked once, duplicates and files posing as directories
 * refused. Names in the three trees and places come later (layout.ts).
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { utf8Bytes } from "./encode.ts";
import type { DirNode, FileNode, IsoEntry, Node } from "./layout.ts";
import { validateEntryName } from "./names.ts";

export const ISO_MAX_FILE_SIZE = 0xffffffff;
/** ECMA-119 6.8.2.1: at most 8 directory levels, the root being level 1. */
export const ISO_MAX_DEPTH = 8;

/** A `vmctl::iso::<code>` diagnostic for input the writer cannot store. */
export function isoError(code: string, message: string, hint: string): Diagnostic {
  return new Diagnostic(`vmctl::iso::${code}`, message, { hint });
}

const EMPTY = new Uint8Array(0);
const ROOT_ID = new Uint8Array([0]);

function newDir(name: string, parent: DirNode | null, mode: number): DirNode {
  return {
    kind: "dir",
    name,
    parent,
    mode,
    children: [],
    isoChildren: [],
    jolietChildren: [],
    depth: parent ? parent.depth + 1 : 1,
    iso: { name: "", ext: "", dir: true },
    isoId: ROOT_ID, // replaced for every directory but the root
    jolietId: ROOT_ID,
    nm: utf8Bytes(name),
    isoRecordLen: 0,
    jolietRecordLen: 0,
    isoNumber: 0,
    jolietNumber: 0,
    isoLba: 0,
    isoSectors: 0,
    jolietLba: 0,
    jolietSectors: 0,
  };
}

/**
 * Build the directory tree from entries, refusing anything no reader could see as given; the
 * files come back in entry order too.
 */
export function buildTree(entries: IsoEntry[]): { root: DirNode; files: FileNode[] } {
  const root = newDir("", null, 0o555);
  const files: FileNode[] = [];
  // Children by name, per directory: no full-path strings to build for every component.
  const kids = new Map<DirNode, Map<string, Node>>([[root, new Map()]]);
  for (const e of entries) {
    const parts = e.path.split("/");
    let dir = root;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i];
      const siblings = kids.get(dir)!;
      const existing = siblings.get(name);
      const last = i === parts.length - 1;
      if (last && !e.directory) {
        if (existing) {
          throw isoError(
            "duplicate_path",
            `${JSON.stringify(e.path)} is listed twice`,
            "list each path once",
          );
        }
        validateEntryName(name, e.path);
        if (e.data === undefined && e.sourcePath === undefined) {
          throw new Error(`iso entry ${e.path}: neither data nor sourcePath`);
        }
        const size = e.data ? e.data.length : e.size!;
        if (size > ISO_MAX_FILE_SIZE) {
          throw isoError(
            "file_too_large",
            `${JSON.stringify(e.path)} is ${size} bytes; files of 4 GiB and more are not supported`,
            "multi-extent files are not implemented; split the file",
          );
        }
        const f: FileNode = {
          kind: "file",
          name,
          parent: dir,
          mode: e.mode ?? 0o444,
          size,
          data: e.data,
          sourcePath: e.data ? undefined : e.sourcePath,
          lba: 0,
          iso: { name: "", ext: "", dir: false },
          isoId: EMPTY,
          jolietId: EMPTY,
          nm: utf8Bytes(name),
          isoRecordLen: 0,
          jolietRecordLen: 0,
        };
        dir.children.push(f);
        siblings.set(name, f);
        files.push(f);
        break;
      }
      if (existing && existing.kind === "file") {
        throw isoError(
          "duplicate_path",
          `${JSON.stringify(parts.slice(0, i + 1).join("/"))} is both a file and a directory`,
          "a path is either a file or a directory",
        );
      }
      if (existing) {
        dir = existing;
        if (last && e.mode !== undefined) dir.mode = e.mode;
        continue;
      }
      // Each component is validated once, when its node is created.
      validateEntryName(name, e.path);
      const d = newDir(name, dir, last && e.mode !== undefined ? e.mode : 0o555);
      if (d.depth > ISO_MAX_DEPTH) {
        throw isoError(
          "too_deep",
          `${JSON.stringify(e.path)} needs more than ${ISO_MAX_DEPTH} directory levels`,
          "ISO 9660 allows 7 levels of directories below the root; flatten the tree",
        );
      }
      dir.children.push(d);
      siblings.set(name, d);
      kids.set(d, new Map());
      dir = d;
    }
  }
  return { root, files };
}
