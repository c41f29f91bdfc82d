import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { yamlLiteral, yamlString } from "../../lib/cloudinit/yaml.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

Deno.test("plain text becomes a double-quoted scalar", () => {
  assertEquals(yamlString("vm"), '"vm"');
});

Deno.test("YAML metacharacters stay inside the quotes", () => {
  assertEquals(yamlString('a: b # c "d" \\e'), '"a: b # c \\"d\\" \\\\e"');
  assertEquals(yamlString("- [x]{y}&*!|>'%@`"), '"- [x]{y}&*!|>\'%@`"');
});

Deno.test("control and non-ASCII characters are escaped", () => {
  assertEquals(yamlString("a\nb\tc\x01\x7f"), '"a\\nb\\tc\\x01\\x7F"');
  assertEquals(yamlString("é€😀"), '"\\xE9\\u20AC\\U0001F600"');
});

Deno.test("a lone surrogate cannot be represented and is refused", () => {
  const err = assertThrows(() => yamlString("a\uD800b"), Diagnostic);
  assertEquals(err.code, "vmctl::cloudinit::unrepresentable");
});

Deno.test("a literal block indents every line", () => {
  assertEquals(yamlLiteral("a\nb\n", 4), "|\n    a\n    b");
});
