import { assertEquals } from "../helpers/assert.ts";
import { parseImageUrl, parseOciRef, parseSha256, registryBaseUrl } from "../../lib/image_ref.ts";
import { bearerChallenge } from "../../lib/image/oci.ts";

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
  assertEquals(parseImageUrl("oci://ghcr.io/X/y:1"), "bad_oci_ref");
  assertEquals(parseImageUrl("ftp://example.com/d.img"), "scheme");
  assertEquals(parseImageUrl("file:///tmp/d.img"), "scheme");
});

Deno.test("an oci:// reference names a registry, a repository and a tag or a digest", () => {
  assertEquals(parseOciRef("oci://ghcr.io/org/debian:12"), {
    registry: "ghcr.io",
    repository: "org/debian",
    tag: "12",
  });
  assertEquals(parseOciRef("oci://127.0.0.1:5000/a/b"), {
    registry: "127.0.0.1:5000",
    repository: "a/b",
    tag: "latest",
  });
  assertEquals(parseOciRef(`oci://ghcr.io/a@sha256:${HEX}`), {
    registry: "ghcr.io",
    repository: "a",
    digest: `sha256:${HEX}`,
  });
  assertEquals(
    (parseImageUrl("oci://ghcr.io/org/debian:12") as URL).href,
    "oci://ghcr.io/org/debian:12",
  );
});

Deno.test("a malformed oci:// reference is refused", () => {
  for (
    const bad of [
      "oci://ghcr.io",
      "oci://ghcr.io/",
      "oci://ghcr.io/Org/debian:12",
      "oci://ghcr.io/a/b:",
      "oci://ghcr.io/a/b@sha256:abc",
      "oci:ghcr.io/a/b:1",
      "oci://ghcr.io/a//b:1",
    ]
  ) assertEquals(parseOciRef(bad), undefined, bad);
});

Deno.test("only loopback registries are spoken to over plain http", () => {
  assertEquals(registryBaseUrl("127.0.0.1:5000"), "http://127.0.0.1:5000");
  assertEquals(registryBaseUrl("localhost:5000"), "http://localhost:5000");
  assertEquals(registryBaseUrl("[::1]:5000"), "http://[::1]:5000");
  assertEquals(registryBaseUrl("ghcr.io"), "https://ghcr.io");
  assertEquals(registryBaseUrl("10.0.0.1:5000"), "https://10.0.0.1:5000");
  assertEquals(registryBaseUrl("127.0.0.1.example.com"), "https://127.0.0.1.example.com");
});

Deno.test("a Bearer challenge gives its realm, service and scope", () => {
  assertEquals(
    bearerChallenge(
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"',
    ),
    { realm: "https://ghcr.io/token", service: "ghcr.io", scope: "repository:a/b:pull" },
  );
  assertEquals(bearerChallenge('Basic realm="x"'), undefined);
});
