/**
 * Structural rules of a VMFile: syntax, vm blocks and names, unknown and
 * repeated nodes, image source, provisioners, network modes. Each failing
 * case asserts the diagnostic code AND its line:column.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { expectOne, parseOk, problems, vm, where } from "./vmfile_helpers.ts";

Deno.test("a KDL syntax error reports the parser's position", () => {
  const d = expectOne('vm "a" {\n  image "x.qcow2\n}\n', "syntax", 2, 9);
  assertMatch(d.message, /^KDL syntax error: /);
  assert(d.hint);
});

Deno.test("a KDL v1 boolean is a syntax error with a #true hint", () => {
  const d = expectOne(vm("  uefi true"), "syntax", 3, 8);
  assertStringIncludes(d.hint ?? "", "#true");
});

Deno.test("an unclosed vm block is a syntax error", () => {
  const diags = problems('vm "a" {\n  vcpus 2\n');
  assertEquals(diags.map((d) => d.code), ["vmctl::vmfile::syntax"]);
  assertEquals(diags[0].span?.line, 3);
});

Deno.test("an empty file has no vm", () => {
  expectOne("", "no_vm", 1, 1);
  expectOne("// only a comment\n", "no_vm", 1, 1);
});

Deno.test("a file of other nodes reports each unknown node and the missing vm", () => {
  const diags = problems('vms "a" {\n}\nimage "x"\n');
  assertEquals(where(diags), ["unknown_node@1:1", "no_vm@1:1", "unknown_node@3:1"]);
  assertStringIncludes(diags[0].hint ?? "", "did you mean `vm`?");
});

Deno.test("duplicate VM names point at the second name", () => {
  const text = `${vm("")}vm "t" {\n  image-url "https://example.com/i.img"\n}\n`;
  const d = expectOne(text, "duplicate_name", 5, 4);
  assertStringIncludes(d.hint ?? "", "line 1");
});

Deno.test("hostile VM names are refused at the name", () => {
  for (
    const name of ["../x", "/abs", "", "-opt", "a b", "a/b", ".", "..", ".hidden", "a".repeat(64)]
  ) {
    const text = `vm ${JSON.stringify(name)} {\n  image-url "https://example.com/i.img"\n}\n`;
    const d = expectOne(text, "invalid_name", 1, 4);
    assertStringIncludes(d.message, JSON.stringify(name));
  }
});

Deno.test("a vm without a name, or with a number for one, is refused", () => {
  expectOne('vm {\n  image-url "https://example.com/i.img"\n}\n', "invalid_name", 1, 1);
  const d = expectOne('vm 7 {\n  image-url "https://example.com/i.img"\n}\n', "invalid_name", 1, 4);
  assertStringIncludes(d.hint ?? "", 'vm "7"');
});

Deno.test("a vm with two names or a property is refused", () => {
  expectOne('vm "a" "b" {\n  image-url "https://x.org/i"\n}\n', "invalid_value", 1, 8);
  expectOne('vm "a" cpus=2 {\n  image-url "https://x.org/i"\n}\n', "unknown_property", 1, 8);
});

Deno.test("a vm without a body is refused", () => {
  expectOne('vm "a"\n', "missing_value", 1, 1);
});

Deno.test("memroy is an unknown node that suggests memory", () => {
  const d = expectOne(vm("  memroy 2048"), "unknown_node", 3, 3);
  assertEquals(d.hint, "did you mean `memory`?");
});

Deno.test("an unknown node far from every name lists the allowed nodes", () => {
  const d = expectOne(vm("  frobnicate 1"), "unknown_node", 3, 3);
  assertStringIncludes(d.hint ?? "", "`vcpus`");
});

Deno.test("unknown nodes inside blocks suggest the right name", () => {
  assertEquals(
    expectOne(vm('  cloud-init {\n    hostnme "a"\n  }'), "unknown_node", 4, 5).hint,
    "did you mean `hostname`?",
  );
  assertEquals(
    expectOne(vm('  ssh {\n    usr "a"\n  }'), "unknown_node", 4, 5).hint,
    "did you mean `user`?",
  );
  const misplaced = expectOne(vm('  ssh {\n    ssh-key "k.pub"\n  }'), "unknown_node", 4, 5);
  assertStringIncludes(misplaced.hint ?? "", "cloud-init");
});

Deno.test("a node given twice is a duplicate at the second one", () => {
  const d = expectOne(vm("  vcpus 2\n  vcpus 2"), "duplicate_node", 4, 3);
  assertStringIncludes(d.hint ?? "", "line 3");
  expectOne(vm('  ssh {\n    user "a"\n    user "b"\n  }'), "duplicate_node", 5, 5);
  expectOne(vm('  network "user"\n  network "none"'), "duplicate_node", 4, 3);
});

Deno.test("an unknown property suggests the known one", () => {
  const d = expectOne(vm('  network "tap" brige="br1"'), "unknown_property", 3, 17);
  assertEquals(d.hint, "did you mean `bridge`?");
});

Deno.test("a property where an argument is expected is refused", () => {
  const diags = problems(vm("  memory size=2048"));
  assertEquals(where(diags), ["missing_value@3:3", "unknown_property@3:10"]);
  assertStringIncludes(diags[1].hint ?? "", "memory 2048");
});

Deno.test("a vm with no image is an image-source error at the vm", () => {
  const d = expectOne('vm "a" {\n  vcpus 2\n}\n', "image_source", 1, 1);
  assertStringIncludes(d.hint ?? "", "image-url");
});

Deno.test("a vm with both image and image-url is an error at the later one", () => {
  expectOne(vm('  image "disk.qcow2"'), "image_source", 3, 3);
});

Deno.test("image-sha256 without image-url is an image-source error", () => {
  const text = vm(`  image-sha256 "${"a".repeat(64)}"`, 'image "disk.qcow2"');
  expectOne(text, "image_source", 3, 3);
});

Deno.test("a shell provisioner with both inline and script is refused at the later one", () => {
  expectOne(
    vm('  provision "shell" {\n    script "s.sh"\n    inline "a"\n  }'),
    "shell_source",
    5,
    12,
  );
});

Deno.test("a shell provisioner with neither inline nor script is refused", () => {
  expectOne(vm('  provision "shell" {\n  }'), "shell_source", 3, 3);
});

Deno.test("a file provisioner needs source and destination", () => {
  const onlyDst = expectOne(
    vm('  provision "file" {\n    destination "/x"\n  }'),
    "file_provision",
    3,
    3,
  );
  assertStringIncludes(onlyDst.message, "`source`");
  const onlySrc = expectOne(
    vm('  provision "file" {\n    source "a"\n  }'),
    "file_provision",
    3,
    3,
  );
  assertStringIncludes(onlySrc.message, "`destination`");
  const none = expectOne(vm('  provision "file" {}'), "file_provision", 3, 3);
  assertStringIncludes(none.message, "`source` and `destination`");
});

Deno.test("a file provisioner's destination must be absolute", () => {
  const text = vm('  provision "file" {\n    source "a"\n    destination "etc/app.conf"\n  }');
  expectOne(text, "relative_destination", 5, 17);
});

Deno.test("provisioner fields of the other type are pointed to it", () => {
  const d = expectOne(
    vm('  provision "shell" {\n    inline "a"\n    source "b"\n  }'),
    "unknown_node",
    5,
    5,
  );
  assertStringIncludes(d.hint ?? "", 'provision "file"');
});

Deno.test("an unknown provision type is refused with a suggestion", () => {
  const d = expectOne(vm('  provision "shel" {\n    inline "a"\n  }'), "provision_type", 3, 13);
  assertEquals(d.hint, "did you mean `shell`?");
});

Deno.test("a provision without a block is refused", () => {
  expectOne(vm('  provision "shell"'), "missing_value", 3, 3);
});

Deno.test("a provision without a type is a shell step, as upstream reads it", () => {
  const file = parseOk(vm('  provision {\n    inline "echo hi"\n  }'));
  assertEquals(file.vms[0].provision[0].kind, "shell");
});

Deno.test("an unknown network mode is refused with a suggestion", () => {
  const d = expectOne(vm('  network "bridge"'), "network_mode", 3, 11);
  assertStringIncludes(d.hint ?? "", "`user`");
  assertEquals(
    expectOne(vm('  network "tapp"'), "network_mode", 3, 11).hint,
    "did you mean `tap`?",
  );
});

Deno.test("a network without a mode is refused", () => {
  expectOne(vm("  network"), "missing_value", 3, 3);
});

Deno.test("a vnic network without a name leaves the VNIC to be named after the VM", () => {
  assertEquals(parseOk(vm('  network "vnic"')).vms[0].network, { type: "vnic" });
});

Deno.test("a vnic network takes a name, the link it goes over and the pool of its address", () => {
  const net =
    parseOk(vm('  network "vnic" {\n    name "web0"\n    link "igb0"\n    pool "guests"\n  }'))
      .vms[0].network;
  assertEquals(net, { type: "vnic", name: "web0", link: "igb0", pool: "guests" });
});

Deno.test("a vnic link that is not an illumos link name is refused at its position", () => {
  expectOne(vm('  network "vnic" link="igb"'), "invalid_value", 3, 18);
});

Deno.test("ssh port must be a port number", () => {
  assertEquals(parseOk(vm("  ssh {\n    port 2222\n  }")).vms[0].ssh, { user: "vm", port: 2222 });
  expectOne(vm("  ssh {\n    port 70000\n  }"), "invalid_value", 4, 10);
});

Deno.test("bridge on a non-tap network is refused", () => {
  expectOne(vm('  network "user" bridge="br0"'), "unknown_property", 3, 18);
  const d = expectOne(vm('  network "user" {\n    bridge "br0"\n  }'), "unknown_node", 4, 5);
  assertStringIncludes(d.hint ?? "", "tap");
});

Deno.test("bridge given both as a property and in the block is a duplicate", () => {
  expectOne(vm('  network "tap" bridge="br0" {\n    bridge "br1"\n  }'), "duplicate_node", 4, 12);
});

Deno.test("every problem in a file is reported at once, in file order", () => {
  const text = 'vm "a" {\n  memroy 1\n  vcpus 0\n}\nvm "a" {\n  image-url "ftp://x"\n}\n';
  assertEquals(where(problems(text)), [
    "image_source@1:1",
    "unknown_node@2:3",
    "invalid_value@3:9",
    "duplicate_name@5:4",
    "invalid_url@6:13",
  ]);
});
