/**
 * Finding and reading a VMFile, and picking VMs from it by `--name`.
 *
 * @module
 */
import { join } from "../posix_path.ts";
import { Diagnostic, DiagnosticList, suggest } from "../diagnostics.ts";
import { validateVmName } from "../names.ts";
import { invocationCwd, resolveUserPath } from "../paths.ts";
import { parseVmFile } from "./parse.ts";
import type { VmDef, VmFile } from "./types.ts";
import { errorKind, host, isNotFound } from "../../host/mod.ts";

/** The file name looked for when `--file` is not given. */
export const VMFILE_NAME = "VMFile.kdl";

/**
 * The VMFile to use: `--file` resolved against the invocation directory (a
 * directory means its VMFile.kdl), else `./VMFile.kdl`. Only the current
 * directory is searched, as upstream does. Missing -> `vmctl::vmfile::not_found`.
 */
export function discoverVmFile(fileOpt?: string): string {
  const cwd = invocationCwd();
  if (fileOpt === undefined) {
    const path = join(cwd, VMFILE_NAME);
    if (kindOf(path) === "file") return path;
    throw new Diagnostic("vmctl::vmfile::not_found", `no ${VMFILE_NAME} in ${cwd}`, {
      hint: `create ${VMFILE_NAME} here (see docs/vmfile.md), or pass --file PATH`,
    });
  }
  if (fileOpt.trim() === "") {
    throw new Diagnostic("vmctl::vmfile::not_found", "--file is empty", {
      hint: "pass the path of a VMFile, e.g. --file ./VMFile.kdl",
    });
  }
  const path = resolveUserPath(fileOpt, cwd);
  const kind = kindOf(path);
  if (kind === "file") return path;
  if (kind === "dir" && kindOf(join(path, VMFILE_NAME)) === "file") return join(path, VMFILE_NAME);
  throw new Diagnostic(
    "vmctl::vmfile::not_found",
    kind === "dir" ? `no ${VMFILE_NAME} in ${path}` : `VMFile not found: ${path}`,
    { hint: `check the --file path (relative paths start at ${cwd})` },
  );
}

function kindOf(path: string): "file" | "dir" | "other" | undefined {
  try {
    const st = host.statSync(path);
    return st.isFile ? "file" : st.isDirectory ? "dir" : "other";
  } catch (err) {
    if (isNotFound(err) || errorKind(err) === "NotADirectory") {
      return undefined;
    }
    throw err;
  }
}

/** Read, parse and validate a VMFile. Throws a DiagnosticList with every problem. */
export async function loadVmFile(
  path: string,
  opts: { checkFiles?: boolean } = {},
): Promise<VmFile> {
  const abs = resolveUserPath(path);
  let bytes: Uint8Array;
  try {
    bytes = await host.readFile(abs);
  } catch (err) {
    if (isNotFound(err)) {
      throw new DiagnosticList([
        new Diagnostic("vmctl::vmfile::not_found", `VMFile not found: ${abs}`, {
          hint: "check the path, or pass --file PATH",
        }),
      ]);
    }
    if (errorKind(err) === "NotCapable") throw err;
    throw new DiagnosticList([
      new Diagnostic(
        "vmctl::vmfile::read_failed",
        `cannot read ${abs}: ${(err as Error).message}`,
        {
          hint: "the VMFile must be a readable regular file",
          cause: err,
        },
      ),
    ]);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DiagnosticList([
      new Diagnostic("vmctl::vmfile::read_failed", `${abs} is not valid UTF-8`, {
        hint: "KDL files are UTF-8 text; re-save the file as UTF-8",
      }),
    ]);
  }
  return parseVmFile(text, abs, opts);
}

/**
 * The VMs a command acts on: all of them, or the one named by `--name`.
 * An invalid name is `vmctl::name::invalid`; an unknown one `vmctl::vmfile::unknown_vm`.
 */
export function selectVms(file: VmFile, name?: string): VmDef[] {
  if (name === undefined) return file.vms;
  validateVmName(name);
  const found = file.vms.filter((vm) => vm.name === name);
  if (found.length > 0) return found;
  const names = file.vms.map((vm) => vm.name);
  const close = suggest(name, names);
  throw new Diagnostic("vmctl::vmfile::unknown_vm", `no VM named "${name}" in ${file.path}`, {
    hint: (close ? `did you mean \`${close}\`? ` : "") +
      `the file defines: ${names.map((n) => `\`${n}\``).join(", ")}`,
  });
}
