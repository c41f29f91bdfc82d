/**
 * Local files of a VMFile are checked when a command is about to use them:
 * creating a VM needs its image and keys, provisioning needs its sources,
 * stopping and destroying need none. `vmctl validate` checks them all
 * (parseVmFile with checkFiles).
 *
 * @module
 */
import { DiagnosticList } from "../diagnostics.ts";
import { fileProblem } from "./nodes.ts";
import type { FileUse, VmFile } from "./types.ts";

/** Throw every problem with the files VM `vm` needs for `uses` (a DiagnosticList). */
export function requireLocalFiles(file: VmFile, vm: string, uses: readonly FileUse[]): void {
  const diags = file.localFiles
    .filter((f) => f.vm === vm && uses.includes(f.use))
    .map((f) => fileProblem(f, file.dir))
    .filter((d) => d !== undefined);
  if (diags.length > 0) throw new DiagnosticList(diags);
}
