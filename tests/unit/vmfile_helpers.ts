/**
 * Shared helpers for the VMFile tests (not a test file itself).
 *
 * @module
 */
import { assertEquals } from "../helpers/assert.ts";

export { withTempDir } from "../helpers/temp_dir.ts";
import { type Diagnostic, DiagnosticList } from "../../lib/diagnostics.ts";
import { parseVmFile } from "../../lib/vmfile/mod.ts";
import type { VmFile } from "../../lib/vmfile/types.ts";

/** Where in-memory test VMFiles pretend to live (nothing is read there without checkFiles). */
export const FAKE_PATH = "/nonexistent-vmfile-dir/VMFile.kdl";

/** A one-VM file: the body lines start on line 3 (line 2 is the image). */
export function vm(body: string, image = 'image-url "https://example.com/i.img"'): string {
  return `vm "t" {\n  ${image}\n${body}\n}\n`;
}

/** Parse; the diagnostics (empty when the file is valid). */
export function problems(
  text: string,
  opts: { checkFiles?: boolean; path?: string } = {},
): Diagnostic[] {
  try {
    parseVmFile(text, opts.path ?? FAKE_PATH, { checkFiles: opts.checkFiles ?? false });
    return [];
  } catch (err) {
    if (err instanceof DiagnosticList) return err.diagnostics;
    throw err;
  }
}

/** `code@line:column` of each diagnostic, for compact exact assertions. */
export function where(diags: Diagnostic[]): string[] {
  return diags.map((d) =>
    `${d.code.replace("vmctl::vmfile::", "")}@${d.span?.line}:${d.span?.column}`
  );
}

/** Assert the file has exactly one problem, `code` at line:column; return it. */
export function expectOne(
  text: string,
  code: string,
  line: number,
  column: number,
  opts: { checkFiles?: boolean; path?: string } = {},
): Diagnostic {
  const diags = problems(text, opts);
  assertEquals(where(diags), [`${code}@${line}:${column}`]);
  const d = diags[0];
  assertEquals(d.span?.source, text, "the span carries the source for the code frame");
  return d;
}

/** Parse a file that must be valid (checkFiles off unless asked). */
export function parseOk(text: string, opts: { checkFiles?: boolean; path?: string } = {}): VmFile {
  const diags = problems(text, opts);
  assertEquals(where(diags), []);
  return parseVmFile(text, opts.path ?? FAKE_PATH, { checkFiles: opts.checkFiles ?? false });
}

/** Create (empty) files under `dir`, making parent directories. */
export async function touch(dir: string, ...paths: string[]): Promise<void> {
  for (const p of paths) {
    const full = `${dir}/${p}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, "x\n");
  }
}
