import { assertEquals } from "../helpers/assert.ts";
import { parseImageUrl, parseSha256 } from "../../lib/image_ref.ts";

const HEX = "ab".repeat(32);

Deno.test("a digest is 64 hex digits, any case, with or without sha256:, returned lower-case", () => {
  assertEquals(parseSha256(HEX), HEX);
  assertEquals(parseSha256(HEX.toUpperCase()), HEX);
  assertEquals(parseSha256(`sha256:${HEX}`), HEX);
  assertEquals(parseSha256(`SHA256:${HEX}`), HEX);
});

Deno.test("anything else is not a digest", () => {
  for (const bad of [HEX.slice(1), `${HEX}0`, `${HEX.slice(1)}g`, ` ${HEX}`, `md5:${HEX}`, ""]) {
    assertEquals(parseSha256(bad), undefined, bad);
  }
});

Deno.test("an image URL is http or https with a host", () => {
  assertEquals(
    (parseImageUrl("https://example.com/d.qcow2") as URL).href,
    "https://example.com/d.qcow2",
  );
  assertEquals((parseImageUrl("http://10.0.0.1:8080/d.img") as URL).host, "10.0.0.1:8080");
});

Deno.test("other URLs say why they are refused", () => {
  assertEquals(parseImageUrl("disk.qcow2"), "not_a_url");
  assertEquals(parseImageUrl("oci://ghcr.io/x/y:1"), "oci");
  assertEquals(parseImageUrl("ftp://example.com/d.img"), "scheme");
  assertEquals(parseImageUrl("file:///tmp/d.img"), "scheme");
});
