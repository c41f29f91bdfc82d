/**
 * YAML scalars for generated cloud-config. Every user-influenced value is
 * written as a double-quoted scalar with everything outside printable ASCII
 * escaped, which YAML 1.1 (PyYAML, what cloud-init uses) and 1.2 both read
 * back as exactly the original string, whatever it contains.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, "0");

/** A YAML double-quoted scalar that parses back to exactly `value`. */
export function yamlString(value: string, what = "value"): string {
  if (!value.isWellFormed()) {
    throw new Diagnostic("vmctl::cloudinit::unrepresentable", `the ${what} is not valid Unicode`, {
      hint: "it holds a lone UTF-16 surrogate; fix the input text",
    });
  }
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c < 0x100) out += `\\x${hex(c, 2)}`;
    else if (c < 0x10000) out += `\\u${hex(c, 4)}`;
    else out += `\\U${hex(c, 8)}`;
  }
  return out + '"';
}

/**
 * A YAML literal block (`|`) for multi-line text we generated ourselves (PEM
 * keys): each line indented by `indent` spaces. Refuses text a literal block
 * cannot carry unchanged.
 */
export function yamlLiteral(text: string, indent: number): string {
  if (!/^[\x20-\x7e\n]*\n$/.test(text) || /^\s|\n\n|\n\s/.test(text)) {
    throw new Error("yamlLiteral: only printable ASCII lines without leading blanks");
  }
  const pad = " ".repeat(indent);
  return "|\n" + text.slice(0, -1).split("\n").map((l) => pad + l).join("\n");
}
