/**
 * The Propolis backend's pure parts: names on the illumos host, the SMF
 * manifest of the VM zone's server, the ensure body and the guest's
 * network-config.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";
import { assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { LINK_NAME_PATTERN } from "../../lib/names.ts";
import {
  guestVnicName,
  serverArgv,
  serverManifest,
  vmZoneName,
} from "../../lib/propolis/layout.ts";
import { ensureRequest, guestNetworkConfig } from "../../lib/propolis/ensure.ts";

Deno.test("a VM's zone is vmctl-NAME, and a name too long for illumos is refused", () => {
  assertEquals(vmZoneName("web"), "vmctl-web");
  const err = assertThrows(() => vmZoneName("a".repeat(58)), Diagnostic);
  assertEquals(err.code, "vmctl::propolis::name_too_long");
  assertEquals(vmZoneName("a".repeat(57)).length, 63);
});

Deno.test("the guest VNIC made from any VM name is a valid illumos link name", () => {
  for (const vm of ["web", "my-vm.1", "9lives", "x".repeat(63), "a_b"]) {
    const link = guestVnicName(vm);
    assertEquals(LINK_NAME_PATTERN.test(link), true, `${vm} -> ${link}`);
  }
});

Deno.test("the server's SMF method runs propolis-server from the zone's read-only mounts", () => {
  const argv = serverArgv(
    "/opt/p/bin/propolis-server",
    "/opt/p/blob/OVMF_CODE.fd",
    "10.0.0.2:12400",
  );
  assertEquals(argv, [
    "/opt/vmctl/propolis/propolis-server",
    "run",
    "/opt/vmctl/bootrom/OVMF_CODE.fd",
    "10.0.0.2:12400",
  ]);
  assertStringIncludes(serverManifest(argv), `exec='${argv.join(" ")}'`);
});

Deno.test("a path that would need quoting in the SMF method is refused", () => {
  for (const bad of ["/opt/p/propolis server", "/opt/p/x'y", "/opt/p/$(id)"]) {
    const err = assertThrows(
      () => serverManifest(serverArgv(bad, "/b/OVMF.fd", "10.0.0.2:12400")),
      Diagnostic,
    );
    assertEquals(err.code, "vmctl::propolis::unsafe_path");
  }
});

Deno.test("the ensure body attaches the seed only when there is one", () => {
  const body = (seed: boolean) =>
    ensureRequest({
      name: "web",
      instanceUuid: "6a4b1f64-3c1e-4b1a-9d55-0c1f6b1a2e01",
      interfaceUuid: "0f0e0d0c-0b0a-4908-8706-050403020100",
      vcpus: 2,
      memoryMb: 2048,
      diskDataset: "rpool/vmctl/vms/web",
      seed,
      guestVnic: "web_g0",
    }) as { init: { value: { spec: { components: Record<string, unknown> } } } };
  const keys = (seed: boolean) => Object.keys(body(seed).init.value.spec.components).sort();
  assertEquals(keys(false), [
    "boot-settings",
    "com1",
    "disk0",
    "disk0-backend",
    "net0",
    "net0-backend",
  ]);
  assertEquals(keys(true), [...keys(false), "seed", "seed-backend"].sort());
});

Deno.test("the guest's network-config gives its address, route and DNS, matched by MAC", () => {
  const text = guestNetworkConfig({
    address: "10.0.0.7/24",
    gateway: "10.0.0.1",
    dns: ["10.0.0.53"],
    domain: "lab.example",
    mac: "02:08:20:aa:bb:cc",
  });
  assertEquals(parseYaml(text), {
    version: 2,
    ethernets: {
      net0: {
        match: { macaddress: "02:08:20:aa:bb:cc" },
        "set-name": "net0",
        addresses: ["10.0.0.7/24"],
        routes: [{ to: "0.0.0.0/0", via: "10.0.0.1" }],
        nameservers: { addresses: ["10.0.0.53"], search: ["lab.example"] },
      },
    },
  });
});
