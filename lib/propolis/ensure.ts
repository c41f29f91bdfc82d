/**
 * What vmctl tells a VM's propolis-server and the guest: the
 * `InstanceEnsureRequest` of `PUT /instance` (spec 5.0.0, illumos-facts.md
 * §7.3) and the cloud-init network-config v2 that gives the guest its pool
 * address. Pure.
 *
 * @module
 */
import { zvolDevice } from "./layout.ts";
import { SEED_IN_ZONE } from "./layout.ts";

/** What the ensure body is made from. */
export interface EnsureInput {
  name: string;
  /** The instance's id (a UUID, the same for every ensure of this VM). */
  instanceUuid: string;
  interfaceUuid: string;
  vcpus: number;
  memoryMb: number;
  /** The VM's disk volume (its raw device is attached). */
  diskDataset: string;
  /** Attach the cloud-init seed as a read-only second disk. */
  seed: boolean;
  guestVnic: string;
}

/** Standalone metadata: propolis requires it, and there is no rack around a lone host. */
const NIL_UUID = "00000000-0000-0000-0000-000000000000";
const STANDALONE_METADATA = {
  project_id: NIL_UUID,
  silo_id: NIL_UUID,
  sled_id: NIL_UUID,
  sled_model: "standalone",
  sled_revision: 0,
  sled_serial: "standalone",
};

/** propolis opens disks in 512-byte blocks (the zvol's and the ISO's sector multiple). */
const BLOCK_SIZE = 512;

/** Devices on PCI bus 0, from slot 4 up (slots below are the chipset's). */
function pci(device: number) {
  return { bus: 0, device, function: 0 };
}

/** The body of `PUT /instance` for one VM. */
export function ensureRequest(i: EnsureInput): Record<string, unknown> {
  const components: Record<string, unknown> = {
    "disk0": { type: "virtio_disk", component: { backend_id: "disk0-backend", pci_path: pci(4) } },
    "disk0-backend": fileBackend(zvolDevice(i.diskDataset), false),
    "net0": {
      type: "virtio_nic",
      component: { backend_id: "net0-backend", interface_id: i.interfaceUuid, pci_path: pci(5) },
    },
    "net0-backend": { type: "virtio_network_backend", component: { vnic_name: i.guestVnic } },
    "com1": { type: "serial_port", component: { num: "com1" } },
    "boot-settings": { type: "boot_settings", component: { order: [{ id: "disk0" }] } },
  };
  if (i.seed) {
    components["seed"] = {
      type: "virtio_disk",
      component: { backend_id: "seed-backend", pci_path: pci(6) },
    };
    components["seed-backend"] = fileBackend(SEED_IN_ZONE, true);
  }
  return {
    properties: {
      id: i.instanceUuid,
      name: i.name,
      description: `vmctl VM ${i.name}`,
      metadata: STANDALONE_METADATA,
    },
    init: {
      method: "Spec",
      value: {
        spec: {
          board: {
            cpus: i.vcpus,
            memory_mb: i.memoryMb,
            chipset: { type: "i440_fx", value: { enable_pcie: false } },
          },
          components,
        },
      },
    },
  };
}

function fileBackend(path: string, readonly: boolean) {
  return { type: "file_storage_backend", component: { path, readonly, block_size: BLOCK_SIZE } };
}

/** The guest's static address, from a pool. */
export interface GuestAddress {
  /** CIDR, e.g. 10.0.0.5/24. */
  address: string;
  gateway?: string;
  dns: string[];
  domain?: string;
  /** The VNIC's MAC: the guest's interface is matched by it. */
  mac: string;
}

/** cloud-init network-config version 2 giving the guest its address. */
export function guestNetworkConfig(g: GuestAddress): string {
  const v6 = g.address.includes(":");
  const lines = [
    "version: 2",
    "ethernets:",
    "  net0:",
    "    match:",
    `      macaddress: "${g.mac}"`,
    "    set-name: net0",
    `    addresses: ["${g.address}"]`,
  ];
  if (g.gateway) {
    lines.push(
      "    routes:",
      `      - to: ${v6 ? "::/0" : "0.0.0.0/0"}`,
      `        via: ${g.gateway}`,
    );
  }
  if (g.dns.length || g.domain) {
    lines.push("    nameservers:");
    if (g.dns.length) lines.push(`      addresses: [${g.dns.map((d) => `"${d}"`).join(", ")}]`);
    if (g.domain) lines.push(`      search: ["${g.domain}"]`);
  }
  return lines.join("\n") + "\n";
}

/** A random locally administered MAC in the 02:08:20 range illumos uses for random VNIC MACs. */
export function randomVnicMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return ["02", "08", "20", ...[...b].map((x) => x.toString(16).padStart(2, "0"))].join(":");
}
