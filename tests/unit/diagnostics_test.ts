import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import {
  codeFrame,
  Diagnostic,
  DiagnosticList,
  didYouMean,
  fromUnknownError,
  renderDiagnostic,
  suggest,
  toDiagnostics,
} from "../../lib/diagnostics.ts";

Deno.test("a diagnostic renders its code, message, position, code frame and hint", () => {
  const source = 'vm "a" {\n    memroy 2048\n}\n';
  const d = new Diagnostic("vmctl::vmfile::unknown_node", "unknown node `memroy`", {
    hint: "did you mean `memory`?",
    span: { file: "VMFile.kdl", line: 2, column: 5, length: 6, source },
  });
  const text = renderDiagnostic(d, { color: false });
  assertMatch(text, /^error\[vmctl::vmfile::unknown_node\]: unknown node `memroy`/);
  assertMatch(text, /--> VMFile\.kdl:2:5/);
  assertMatch(text, /2 \| {5}memroy 2048\n\s+\|\s{5}\^{6}/);
  assertMatch(text, /hint: did you mean `memory`\?/);
});

Deno.test("rendering without colour contains no escape sequences", () => {
  const d = new Diagnostic("vmctl::x::y", "m", { hint: "h" });
  assert(!renderDiagnostic(d, { color: false }).includes("\x1b"));
  assert(renderDiagnostic(d, { color: true }).includes("\x1b["));
});

Deno.test("the code frame shows the lines around the error and a caret at the column", () => {
  const frame = codeFrame({ file: "f", line: 2, column: 3, source: "a\nbcdef\ng" });
  assertEquals(frame.length, 4);
  assertEquals(frame[2].trimEnd().endsWith("^"), true);
  assertEquals(frame[2].indexOf("^") - frame[1].indexOf("bcdef"), 2);
});

Deno.test("suggest finds a likely typo and refuses unrelated words", () => {
  assertEquals(suggest("memroy", ["vcpus", "memory", "disk"]), "memory");
  assertEquals(suggest("zzzzzz", ["vcpus", "memory", "disk"]), undefined);
  assertMatch(didYouMean("zzzzzz", ["a", "b"]), /expected one of: `a`, `b`/);
});

Deno.test("a withheld Deno permission becomes a diagnostic naming the flag", () => {
  const err = new Error('Requires env access to "HOME", run again with the --allow-env flag');
  err.name = "NotCapable";
  const d = fromUnknownError(err);
  assertEquals(d.code, "vmctl::permission::denied");
  assertMatch(d.hint ?? "", /--allow-env/);
});

Deno.test("an unexpected error becomes vmctl::internal with a hint to report it", () => {
  const d = fromUnknownError(new TypeError("boom"));
  assertEquals(d.code, "vmctl::internal");
  assertMatch(d.hint ?? "", /VMCTL_LOG=debug/);
});

Deno.test("a diagnostic list flattens into its diagnostics", () => {
  const a = new Diagnostic("a::b::c", "one");
  const b = new Diagnostic("a::b::d", "two");
  assertEquals(toDiagnostics(new DiagnosticList([a, b])), [a, b]);
  assertEquals(a.toJSON().code, "a::b::c");
});
