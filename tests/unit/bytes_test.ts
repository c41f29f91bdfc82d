import { concatBytes } from "../../lib/bytes.ts";
import { assertEquals } from "../helpers/assert.ts";

Deno.test("concatBytes joins the parts in order, empty ones included", () => {
  const parts = [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])];
  assertEquals(concatBytes(parts), new Uint8Array([1, 2, 3]));
  assertEquals(concatBytes([]), new Uint8Array(0));
});
