/**
 * Values in a VMFile: integer ranges and types, booleans, enums, strings,
 * URLs and digests, names that end up in commands (bridge, vnic, hostname,
 * user), defaults, and the property vs block forms of `network`.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { expectOne, parseOk, problems, vm, where } from "./vmfile_helpers.ts";

const one = (body: string) => parseOk(vm(body)).vms[0];

Deno.test("a minimal vm gets the book's defaults", () => {
  const def = one("");
  assertEquals(def.vcpus, 1);
  assertEquals(def.memoryMb, 1024);
  assertEquals(def.diskGb, undefined);
  assertEquals(def.network, { type: "user" });
  assertEquals(def.uefi, false);
  assertEquals(def.vnc, false);
  assertEquals(def.accel, undefined);
  assertEquals(def.cloudInit, undefined);
  assertEquals(def.ssh, undefined);
  assertEquals(def.provision, []);
  assertEquals(def.image, { kind: "url", url: "https://example.com/i.img" });
  assertEquals([def.span.line, def.span.column], [1, 1]);
});

Deno.test("resources, switches and accel are read", () => {
  const def = one('  vcpus 4\n  memory 4096\n  disk 40\n  uefi #true\n  vnc #true\n  accel "tcg"');
  assertEquals([def.vcpus, def.memoryMb, def.diskGb], [4, 4096, 40]);
  assertEquals([def.uefi, def.vnc, def.accel], [true, true, "tcg"]);
  assertEquals(one("  uefi #false").uefi, false);
});

Deno.test("integers may be written in any KDL integer form", () => {
  assertEquals(one("  memory 0x800").memoryMb, 2048);
  assertEquals(one("  memory 2_048").memoryMb, 2048);
});

Deno.test("vcpus outside 1..255 is refused", () => {
  for (const v of ["0", "-1", "256", "100000"]) {
    const d = expectOne(vm(`  vcpus ${v}`), "invalid_value", 3, 9);
    assertStringIncludes(d.message, "between 1 and 255");
  }
  assertEquals(one("  vcpus 255").vcpus, 255);
});

Deno.test("memory beyond 2^31 MB, zero or negative is refused", () => {
  expectOne(vm("  memory 2147483648"), "invalid_value", 3, 10);
  expectOne(vm("  memory 0"), "invalid_value", 3, 10);
  expectOne(vm("  memory -512"), "invalid_value", 3, 10);
  expectOne(vm("  memory 99999999999999999999999"), "invalid_value", 3, 10);
  assertEquals(one("  memory 2147483647").memoryMb, 2147483647);
});

Deno.test("disk must be a positive whole number of GB", () => {
  expectOne(vm("  disk 0"), "invalid_value", 3, 8);
  expectOne(vm("  disk 1048577"), "invalid_value", 3, 8);
});

Deno.test("non-integers are refused: 2.5, 2.0, 1e3, #inf", () => {
  for (const v of ["2.5", "2.0", "1e3", "#inf", "#nan"]) {
    const d = expectOne(vm(`  vcpus ${v}`), "invalid_value", 3, 9);
    assertStringIncludes(d.message, "whole number");
  }
});

Deno.test("a quoted number is refused with a hint to drop the quotes", () => {
  const d = expectOne(vm('  memory "2048"'), "invalid_value", 3, 10);
  assertStringIncludes(d.message, "(a string)");
  assertStringIncludes(d.hint ?? "", "without quotes");
});

Deno.test("booleans and #null are not numbers", () => {
  expectOne(vm("  vcpus #true"), "invalid_value", 3, 9);
  expectOne(vm("  memory #null"), "invalid_value", 3, 10);
});

Deno.test("a value node without a value, or with two, is refused", () => {
  expectOne(vm("  vcpus"), "missing_value", 3, 3);
  expectOne(vm("  vcpus 2 4"), "invalid_value", 3, 11);
  expectOne('vm "t" {\n  image "a" "b"\n}\n', "invalid_value", 2, 13);
});

Deno.test("a value node with a block is refused", () => {
  expectOne(vm("  vcpus 2 {\n  }"), "invalid_value", 3, 3);
});

Deno.test("uefi and vnc take KDL v2 booleans only", () => {
  const d = expectOne(vm('  uefi "true"'), "invalid_value", 3, 8);
  assertEquals(d.hint, "KDL v2 booleans are keywords: `uefi #true`");
  expectOne(vm("  vnc 1"), "invalid_value", 3, 7);
});

Deno.test("accel must be kvm, tcg or auto", () => {
  const d = expectOne(vm('  accel "kvmm"'), "invalid_value", 3, 9);
  assertEquals(d.hint, "did you mean `kvm`?");
});

Deno.test("empty strings are refused", () => {
  expectOne('vm "t" {\n  image ""\n}\n', "invalid_value", 2, 9);
  expectOne(vm('  cloud-init {\n    hostname ""\n  }'), "invalid_value", 4, 14);
  expectOne(vm('  provision "shell" {\n    inline "  "\n  }'), "invalid_value", 4, 12);
});

Deno.test("a string where a string is expected must not be a number", () => {
  expectOne('vm "t" {\n  image-url 42\n}\n', "invalid_value", 2, 13);
});

Deno.test("image-url takes an oci:// reference", () => {
  const def = parseOk('vm "t" {\n  image-url "oci://ghcr.io/org/debian:12"\n}\n').vms[0];
  assertEquals(def.image, { kind: "url", url: "oci://ghcr.io/org/debian:12" });
});

Deno.test("image-url must be http, https or a well-formed oci:// reference", () => {
  for (const url of ["ftp://h/x.img", "file:///x.img", "not a url", "https://"]) {
    expectOne(`vm "t" {\n  image-url ${JSON.stringify(url)}\n}\n`, "invalid_url", 2, 13);
  }
  const oci = expectOne('vm "t" {\n  image-url "oci://ghcr.io/A/b:1"\n}\n', "invalid_url", 2, 13);
  assertStringIncludes(oci.message, "OCI reference");
  assertEquals(one("").image.kind, "url");
});

Deno.test("image-sha256 is 64 hex digits, kept lower-case with the url", () => {
  const hex = "AB".repeat(32);
  const def = one(`  image-sha256 "${hex}"`);
  assertEquals(def.image, {
    kind: "url",
    url: "https://example.com/i.img",
    sha256: hex.toLowerCase(),
  });
  assertEquals(one(`  image-sha256 "sha256:${"c".repeat(64)}"`).image, {
    kind: "url",
    url: "https://example.com/i.img",
    sha256: "c".repeat(64),
  });
  expectOne(vm('  image-sha256 "abc"'), "invalid_value", 3, 16);
  expectOne(vm(`  image-sha256 "${"g".repeat(64)}"`), "invalid_value", 3, 16);
});

Deno.test("network in property form and block form mean the same", () => {
  const prop = one('  network "tap" bridge="br1"').network;
  const block = one('  network "tap" {\n    bridge "br1"\n  }').network;
  assertEquals(prop, { type: "tap", bridge: "br1" });
  assertEquals(block, prop);
  assertEquals(one('  network "vnic" name="vnic0"').network, { type: "vnic", name: "vnic0" });
  assertEquals(one('  network "vnic" {\n    name "vnic0"\n  }').network, {
    type: "vnic",
    name: "vnic0",
  });
});

Deno.test("tap defaults to bridge br0; user and none take nothing", () => {
  assertEquals(one('  network "tap"').network, { type: "tap", bridge: "br0" });
  assertEquals(one('  network "none"').network, { type: "none" });
  assertEquals(one('  network "user" {}').network, { type: "user" });
});

Deno.test("bridge and vnic names that could become options are refused", () => {
  expectOne(vm('  network "tap" bridge="-x"'), "invalid_value", 3, 17);
  expectOne(vm('  network "tap" bridge="a-very-long-bridge"'), "invalid_value", 3, 17);
  expectOne(vm('  network "tap" bridge="br 0"'), "invalid_value", 3, 17);
  expectOne(vm('  network "vnic" name="vnic"'), "invalid_value", 3, 18);
  expectOne(vm('  network "vnic" name="0vnic0"'), "invalid_value", 3, 18);
});

Deno.test("cloud-init hostnames are RFC 1123 names", () => {
  assertEquals(one('  cloud-init {\n    hostname "web-1.example"\n  }').cloudInit, {
    hostname: "web-1.example",
  });
  for (const h of ["bad host", "-x", "a\\nb", "x".repeat(64), "a..b"]) {
    expectOne(vm(`  cloud-init {\n    hostname "${h}"\n  }`), "invalid_value", 4, 14);
  }
});

Deno.test("an empty cloud-init block or a bare cloud-init node means generated keys", () => {
  assertEquals(one("  cloud-init {\n  }").cloudInit, {});
  assertEquals(one("  cloud-init").cloudInit, {});
});

Deno.test("an ssh block defaults the user to vm", () => {
  assertEquals(one("  ssh {\n  }").ssh, { user: "vm" });
  assertEquals(one('  ssh {\n    user "ubuntu"\n  }').ssh, { user: "ubuntu" });
  assertEquals(one("  ssh").ssh, { user: "vm" });
});

Deno.test("ssh users that could become ssh options are refused", () => {
  expectOne(vm('  ssh {\n    user "-oProxyCommand=sh"\n  }'), "invalid_value", 4, 10);
  expectOne(vm('  ssh {\n    user "a b"\n  }'), "invalid_value", 4, 10);
});

Deno.test("blocks that take no arguments refuse them", () => {
  expectOne(vm('  ssh "ubuntu" {\n  }'), "invalid_value", 3, 7);
  expectOne(vm('  cloud-init "x"'), "invalid_value", 3, 14);
});

Deno.test("type annotations are refused", () => {
  expectOne(vm("  vcpus (u8)2"), "invalid_value", 3, 9);
  expectOne(vm("  (x)vcpus 2"), "invalid_value", 3, 3);
});

Deno.test("a NUL character in a string is refused", () => {
  expectOne(vm('  provision "shell" {\n    inline "a\\u{0}b"\n  }'), "invalid_value", 4, 12);
});

Deno.test("provision steps keep their order and positions", () => {
  const steps = one(
    '  provision "shell" {\n    inline "one"\n  }\n  provision "file" {\n    source "a"\n    destination "/b"\n  }\n  provision "shell" {\n    script "s.sh"\n  }',
  ).provision;
  assertEquals(steps.map((s) => [s.kind, s.span.line]), [["shell", 3], ["file", 6], ["shell", 10]]);
  assertEquals(steps[0], { kind: "shell", inline: "one", span: steps[0].span });
  assertEquals(steps[1], {
    kind: "file",
    source: "/nonexistent-vmfile-dir/a",
    destination: "/b",
    span: steps[1].span,
  });
  assertEquals(steps[2], {
    kind: "shell",
    script: "/nonexistent-vmfile-dir/s.sh",
    span: steps[2].span,
  });
});

Deno.test("multi-line inline commands are kept verbatim", () => {
  const text = vm(
    '  provision "shell" {\n    inline """\n      set -e\n      echo "hi"\n      """\n  }',
  );
  const step = parseOk(text).vms[0].provision[0];
  assertEquals(step.kind === "shell" && "inline" in step ? step.inline : "", 'set -e\necho "hi"');
});

Deno.test("slash-dash comments remove nodes before validation", () => {
  assertEquals(one("  /-memroy 2048\n  memory 512").memoryMb, 512);
  assertEquals(where(problems(vm("  /-vcpus 0"))), []);
});
