/**
 * VMFile.kdl text -> {@link VmFile}: KDL v2 syntax, the `vm` nodes, names,
 * and every body rule (vm.ts, blocks.ts). All problems are collected and
 * thrown together as one {@link DiagnosticList}, ordered by position.
 *
 * @module
 */
import type { Node } from "@bgotink/kdl";
import { parseKdlStrict } from "../kdl.ts";
import { dirname } from "../posix_path.ts";
import { Diagnostic, DiagnosticList, didYouMean } from "../diagnostics.ts";
import { VM_NAME_RULE } from "../names.ts";
import { resolveUserPath } from "../paths.ts";
import type { VmDef, VmFile } from "./types.ts";
import { checkProps, checkTags, type Ctx, entriesOf, fail, fileProblem, lineOf } from "./nodes.ts";
import { readVmBody } from "./vm.ts";

const KDL_HINT =
  "VMFile.kdl is KDL v2 (https://kdl.dev): quote strings, write booleans as #true/#false, close every `{` with `}`";

/**
 * Parse and validate VMFile text. `path` is the file's path (made absolute;
 * relative paths inside resolve against its directory). With `checkFiles`
 * (default) every local file it names must exist; without, the files are
 * only recorded (`localFiles`) and checked when a command is about to use
 * them ({@link requireLocalFiles}). Throws a DiagnosticList.
 */
export function parseVmFile(
  text: string,
  path: string,
  opts: { checkFiles?: boolean } = {},
): VmFile {
  const file = resolveUserPath(path);
  const dir = dirname(file);
  const ctx: Ctx = { file, dir, source: text, files: [], diags: [] };
  const nodes = parseKdl(ctx);
  if (!nodes) throw new DiagnosticList(ctx.diags);
  const vms: VmDef[] = [];
  const names = new Map<string, Node>();
  let vmCount = 0;
  for (const node of nodes) {
    if (node.getName() !== "vm") {
      fail(
        ctx,
        "unknown_node",
        node,
        `unknown top-level node \`${node.getName()}\``,
        `${didYouMean(node.getName(), ["vm"])} (a VMFile holds \`vm "name" { ... }\` blocks)`,
      );
      continue;
    }
    vmCount++;
    const name = readVmName(ctx, node, names);
    if (!node.children) {
      fail(
        ctx,
        "missing_value",
        node,
        `vm ${name ? `"${name}" ` : ""}has no body`,
        'write `vm "name" { image "disk.qcow2" }`',
      );
      continue;
    }
    const label = name ?? String(entriesOf(node).args[0]?.getValue() ?? "?");
    ctx.vm = label;
    const def = readVmBody(ctx, node, label);
    if (def && name) vms.push(def);
  }
  if (vmCount === 0) {
    ctx.diags.push(
      new Diagnostic("vmctl::vmfile::no_vm", `${file} defines no vm`, {
        hint: 'add a block such as `vm "dev" { image-url "https://..." }`',
        span: { file, line: 1, column: 1, source: text },
      }),
    );
  }
  if (opts.checkFiles ?? true) {
    for (const f of ctx.files) {
      const d = fileProblem(f, dir);
      if (d) ctx.diags.push(d);
    }
  }
  if (ctx.diags.length > 0) throw new DiagnosticList(sortByPosition(ctx.diags));
  return { path: file, dir, vms, localFiles: ctx.files };
}

/** KDL syntax check; on failure every parser error becomes a `syntax` diagnostic. */
function parseKdl(ctx: Ctx): Node[] | undefined {
  const parsed = parseKdlStrict(ctx.source, { locations: true });
  if ("doc" in parsed) return parsed.doc.nodes;
  for (const p of parsed.problems) {
    const hint = /add a leading #/.test(p.message)
      ? "KDL v2 keywords start with '#': #true, #false, #null; anything else in quotes"
      : KDL_HINT;
    ctx.diags.push(
      new Diagnostic("vmctl::vmfile::syntax", `KDL syntax error: ${p.message}`, {
        hint,
        span: {
          file: ctx.file,
          line: p.line,
          column: p.column,
          length: p.length,
          source: ctx.source,
        },
      }),
    );
  }
  return undefined;
}

/** The name argument of a vm node: a valid, unique VM name; undefined (recorded) otherwise. */
function readVmName(ctx: Ctx, node: Node, names: Map<string, Node>): string | undefined {
  checkTags(ctx, node);
  checkProps(ctx, node, [], 'vm "name" { ... }');
  const { args } = entriesOf(node);
  if (args.length === 0) {
    return fail(ctx, "invalid_name", node, "vm needs a name", 'write `vm "name" { ... }`');
  }
  if (args.length > 1) {
    fail(ctx, "invalid_value", args[1], "vm takes one name", 'write `vm "name" { ... }`');
  }
  const value = args[0].getValue();
  if (typeof value !== "string") {
    return fail(
      ctx,
      "invalid_name",
      args[0],
      `vm name must be a string, got ${args[0].value.representation ?? String(value)}`,
      `quote it: \`vm "${String(value)}" { ... }\``,
    );
  }
  if (!VM_NAME_RULE.test(value)) {
    return fail(
      ctx,
      "invalid_name",
      args[0],
      `invalid VM name ${JSON.stringify(value)}`,
      VM_NAME_RULE.hint,
    );
  }
  const first = names.get(value);
  if (first) {
    return fail(
      ctx,
      "duplicate_name",
      args[0],
      `duplicate VM name "${value}"`,
      `VM names must be unique in a VMFile; the first "${value}" is on line ${lineOf(first)}`,
    );
  }
  names.set(value, node);
  return value;
}

function sortByPosition(diags: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => (d.span ? d.span.line * 1e6 + d.span.column : 0);
  return diags
    .map((d, i) => ({ d, i }))
    .sort((a, b) => key(a.d) - key(b.d) || a.i - b.i)
    .map((x) => x.d);
}
