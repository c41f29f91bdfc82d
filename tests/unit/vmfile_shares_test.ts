/**
 * The VMFile's `forward` and `mount` nodes: what they parse to, and every
 * refusal with its code AND line:column.
 */
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { join } from "node:path";
import { expectOne, parseOk, vm, withTempDir } from "./vmfile_helpers.ts";

const CI = "  cloud-init {\n  }\n";

Deno.test("a forward defaults to tcp on 127.0.0.1; proto and host-ip are props or children", () => {
  const f = parseOk(vm(
    '  forward host=8080 guest=80\n  forward host=5353 guest=53 proto="udp"\n' +
      '  forward host=9000 guest=9000 {\n    host-ip "0.0.0.0"\n  }',
  ));
  assertEquals(f.vms[0].forwards, [
    { proto: "tcp", host_ip: "127.0.0.1", host_port: 8080, guest_port: 80 },
    { proto: "udp", host_ip: "127.0.0.1", host_port: 5353, guest_port: 53 },
    { proto: "tcp", host_ip: "0.0.0.0", host_port: 9000, guest_port: 9000 },
  ]);
});

Deno.test("a forward port outside 1-65535 points at the value", () => {
  expectOne(vm("  forward host=0 guest=80"), "invalid_value", 3, 11);
  expectOne(vm("  forward host=8080 guest=65536"), "invalid_value", 3, 21);
});

Deno.test("a forward without a guest port is refused at the node", () => {
  const d = expectOne(vm("  forward host=8080"), "missing_value", 3, 3);
  assertStringIncludes(d.message, "guest=");
});

Deno.test("an unknown protocol and a host-ip that is not IPv4 are refused", () => {
  expectOne(vm('  forward host=1 guest=1 proto="sctp"'), "invalid_value", 3, 26);
  const d = expectOne(
    vm('  forward host=1 guest=1 host-ip="127.0.0.1,hostfwd=tcp::2-:22"'),
    "invalid_value",
    3,
    26,
  );
  assertStringIncludes(d.message, "not an IPv4 address");
});

Deno.test("the same host port and protocol forwarded twice points at the second", () => {
  const d = expectOne(
    vm('  forward host=8080 guest=80\n  forward host=8080 guest=81 host-ip="0.0.0.0"'),
    "duplicate_node",
    4,
    3,
  );
  assertStringIncludes(d.message, "line 3");
  parseOk(vm('  forward host=53 guest=53\n  forward host=53 guest=53 proto="udp"'));
});

Deno.test("forwards need user networking", () => {
  expectOne(
    vm('  network "tap"\n  forward host=8080 guest=80'),
    "forward_needs_user_network",
    4,
    3,
  );
});

Deno.test("a mount resolves its host path against the VMFile and is read-write by default", () => {
  const f = parseOk(vm(`${CI}  mount "./src" "/src"\n  mount "/data" "/data" { readonly #true; }`));
  assertEquals(f.vms[0].mounts, [
    { host_path: "/nonexistent-vmfile-dir/src", guest_path: "/src", readonly: false },
    { host_path: "/data", guest_path: "/data", readonly: true },
  ]);
});

Deno.test("a mount's host path must be an existing directory", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "VMFile.kdl");
    await Deno.writeTextFile(join(dir, "file"), "");
    const missing = expectOne(vm(`${CI}  mount "./missing" "/a"`), "file_not_found", 5, 9, {
      checkFiles: true,
      path,
    });
    assertStringIncludes(missing.message, "does not exist");
    const notDir = expectOne(vm(`${CI}  mount "file" "/b"`), "file_not_found", 5, 9, {
      checkFiles: true,
      path,
    });
    assertStringIncludes(notDir.message, "is not a directory");
  });
});

Deno.test("a guest path that is relative, the root or holds .. is refused", () => {
  expectOne(vm(`${CI}  mount "/a" "src"`), "invalid_value", 5, 14);
  expectOne(vm(`${CI}  mount "/a" "/"`), "invalid_value", 5, 14);
  expectOne(vm(`${CI}  mount "/a" "/x/../etc"`), "invalid_value", 5, 14);
  expectOne(vm(`${CI}  mount "/a" "/x y"`), "invalid_value", 5, 14);
});

Deno.test("a mount with one path, or a guest path mounted twice, is refused", () => {
  expectOne(vm(`${CI}  mount "/a"`), "missing_value", 5, 3);
  expectOne(vm(`${CI}  mount "/a" "/x"\n  mount "/b" "/x/"`), "duplicate_node", 6, 3);
});

Deno.test("mounts need the user-data vmctl writes", () => {
  expectOne(vm('  mount "/a" "/x"'), "mount_needs_cloud_init", 3, 3);
  const d = expectOne(
    vm('  cloud-init {\n    user-data "u.yaml"\n  }\n  mount "/a" "/x"'),
    "mount_needs_cloud_init",
    6,
    3,
  );
  assertStringIncludes(d.hint ?? "", "vmctl0");
});
