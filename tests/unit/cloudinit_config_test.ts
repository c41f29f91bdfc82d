import {
  assertEquals,
  assertMatch,
  assertStringIncludes,
  assertThrows,
} from "../helpers/assert.ts";
import {
  buildMetaData,
  buildUserData,
  defaultHostname,
  newInstanceId,
  validateHostname,
  validateInstanceId,
  validateUserName,
} from "../../lib/cloudinit/config.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIQK19erOib+rVtpuLxU/qZrbvCHJWkYJEcW8Uz/2lrH me@x";

Deno.test("meta-data holds instance-id and local-hostname", () => {
  assertEquals(
    buildMetaData({ instanceId: "iid-1", hostname: "web1" }),
    'instance-id: "iid-1"\nlocal-hostname: "web1"\n',
  );
});

Deno.test("generated user-data creates the user with sudo, bash and the key, and locks root and passwords", () => {
  const ud = buildUserData({ user: "vm", hostname: "web1", authorizedKey: KEY });
  assertMatch(ud, /^#cloud-config\n/);
  for (
    const line of [
      'hostname: "web1"',
      "manage_etc_hosts: true",
      '  - name: "vm"',
      '    sudo: "ALL=(ALL) NOPASSWD:ALL"',
      "    shell: /bin/bash",
      `      - "${KEY}"`,
      "ssh_pwauth: false",
      "disable_root: true",
    ]
  ) assertStringIncludes(ud, `\n${line}\n`);
});

Deno.test("the host key is injected through ssh_keys only when given", () => {
  const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
  const ud = buildUserData({
    user: "vm",
    hostname: "h",
    authorizedKey: KEY,
    hostKey: { privatePem: pem, publicLine: "ssh-ed25519 AAAA root@h" },
  });
  assertStringIncludes(
    ud,
    "ssh_keys:\n  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    AAAA\n" +
      '    -----END OPENSSH PRIVATE KEY-----\n  ed25519_public: "ssh-ed25519 AAAA root@h"\n',
  );
  assertEquals(
    buildUserData({ user: "vm", hostname: "h", authorizedKey: KEY }).includes("ssh_keys"),
    false,
  );
});

Deno.test("host names must be RFC 1123", () => {
  assertEquals(validateHostname("a-1.example.com"), "a-1.example.com");
  for (const bad of ["", "-a", "a-", "a_b", "a..b", "a b", "x".repeat(64), "é"]) {
    assertEquals(
      assertThrows(() => validateHostname(bad), Diagnostic).code,
      "vmctl::cloudinit::bad_hostname",
    );
  }
});

Deno.test("a VM name that is not a host name yields a usable default host name", () => {
  assertEquals(defaultHostname("web1"), "web1");
  assertEquals(defaultHostname("my_vm"), "my-vm");
  assertEquals(defaultHostname("a..b-"), "a.b");
  assertEquals(defaultHostname("_"), "vm");
  for (const n of ["my_vm", "a..b-", "x.-y", "9_._9"]) validateHostname(defaultHostname(n));
});

Deno.test("user names must be portable and not root", () => {
  assertEquals(validateUserName("vm"), "vm");
  for (const bad of ["root", "Admin", "1abc", "a b", "a:b", "", "x".repeat(33)]) {
    assertEquals(
      assertThrows(() => validateUserName(bad), Diagnostic).code,
      "vmctl::cloudinit::bad_user",
    );
  }
});

Deno.test("instance ids are new each time and plain tokens", () => {
  const a = newInstanceId();
  assertMatch(a, /^iid-[0-9a-f-]{36}$/);
  assertEquals(a === newInstanceId(), false);
  validateInstanceId(a);
  for (const bad of ["../x", "a b", "", "a/b"]) {
    assertEquals(
      assertThrows(() => validateInstanceId(bad), Diagnostic).code,
      "vmctl::cloudinit::bad_instance_id",
    );
  }
});
