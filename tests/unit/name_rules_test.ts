/**
 * Every name rule, driven through both sides: what `vmctl validate` accepts in
 * a VMFile is exactly what the command that uses the name (`up`, `create`,
 * the QEMU backend, cloud-init, zones) accepts.
 */
import { assertEquals } from "../helpers/assert.ts";
import { problems, vm } from "./vmfile_helpers.ts";
import { validateVmName } from "../../lib/names.ts";
import { validateHostname } from "../../lib/cloudinit/config.ts";
import { validateLinkName } from "../../lib/zones/names.ts";
import { bridgeHelper } from "../../backends/qemu/host.ts";
import { createRequest } from "../../cli/vm/create.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

/** True unless `fn` throws a diagnostic whose code is one of `codes` (other failures are not about the name). */
function accepts(fn: () => unknown, ...codes: string[]): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof Diagnostic && codes.includes(err.code)) return false;
    if (err instanceof Diagnostic) return true;
    throw err;
  }
}

const validates = (text: string) => problems(text).length === 0;

const quoted = (s: string) => JSON.stringify(s);

const VM_NAMES = [
  "web",
  "a",
  "db-1.internal",
  "x".repeat(63),
  "x".repeat(64),
  "-web",
  ".",
  "a b",
  "ü",
];
const HOSTNAMES = [
  "web",
  "web-1.example.com",
  "a".repeat(63),
  "a".repeat(64),
  "-web",
  "web-",
  "bad_name",
  "a..b",
  "",
];
const BRIDGES = [
  "br0",
  "virbr0",
  "br-lan.10",
  "_b",
  "b".repeat(15),
  "b".repeat(16),
  "-br",
  ".br",
  "br 0",
  "",
];
const LINKS = [
  "vnic0",
  "net_1.2",
  "a" + "b".repeat(28) + "9",
  "a" + "b".repeat(29) + "9",
  "vnic",
  "0vnic",
  "v-nic0",
];

Deno.test("a VM name validate accepts is one up and create accept, and no other", () => {
  for (const name of VM_NAMES) {
    const text = `vm ${quoted(name)} {\n  image-url "https://example.com/i.img"\n}\n`;
    assertEquals(
      validates(text),
      accepts(() => validateVmName(name), "vmctl::name::invalid"),
      name,
    );
  }
});

Deno.test("a host name validate accepts is one the cloud-init seed of up accepts, and no other", () => {
  for (const name of HOSTNAMES) {
    const text = vm(`  cloud-init {\n    hostname ${quoted(name)}\n  }`);
    const up = accepts(() => validateHostname(name), "vmctl::cloudinit::bad_hostname");
    assertEquals(validates(text), up, name);
  }
});

Deno.test("a bridge validate accepts is one up's QEMU backend and create accept, and no other", () => {
  for (const name of BRIDGES) {
    const text = vm(`  network "tap" bridge=${quoted(name)}`);
    const up = accepts(() => bridgeHelper(name), "vmctl::qemu::bad_bridge");
    const create = accepts(
      () =>
        createRequest({
          name: "t",
          image: "/i.qcow2",
          vcpus: "1",
          memory: "512",
          network: "tap",
          bridge: name,
          user: "vm",
        }),
      "vmctl::create::invalid_bridge",
    );
    assertEquals([validates(text), create], [up, up], name);
  }
});

Deno.test("a VNIC name a VMFile accepts is one the zone side accepts, and no other", () => {
  for (const name of LINKS) {
    const text = vm(`  network "vnic" {\n    name ${quoted(name)}\n  }`);
    assertEquals(
      validates(text),
      accepts(() => validateLinkName(name), "zmgr::name::invalid_link"),
      name,
    );
  }
});
