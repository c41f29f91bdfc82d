/**
 * The validated, resolved form of a VMFile.kdl. Every path is absolute
 * (resolved against the VMFile's directory, `~` expanded) and every default
 * from the book is filled in, so consumers never re-interpret KDL.
 *
 * @module
 */
import type { SourceSpan } from "../diagnostics.ts";
import type {
  Accel,
  CloudInitSpec,
  NetworkConfig,
  PortForward,
  SharedFolder,
  SshSpec,
} from "../types.ts";
import type { LocalFile } from "./nodes.ts";

export type { FileUse, LocalFile } from "./nodes.ts";

export type ImageSource =
  | { kind: "path"; path: string }
  | { kind: "url"; url: string; sha256?: string };

export type ProvisionStep =
  | { kind: "shell"; inline: string; span: SourceSpan }
  | { kind: "shell"; script: string; span: SourceSpan }
  | { kind: "file"; source: string; destination: string; span: SourceSpan };

export interface VmDef {
  name: string;
  /** Position of the `vm` node. */
  span: SourceSpan;
  image: ImageSource;
  vcpus: number; // default 1
  memoryMb: number; // default 1024
  diskGb?: number;
  network: NetworkConfig; // default { type: "user" }
  uefi: boolean; // default false
  accel?: Accel; // absent: CLI flag / VMCTL_ACCEL / auto
  vnc: boolean; // default false
  /** Absent when the VM has no cloud-init block (no seed ISO). */
  cloudInit?: CloudInitSpec;
  /** Present when the VM has an ssh block (user defaults to "vm"). */
  ssh?: SshSpec;
  /** `forward` nodes, in order (user networking only). */
  forwards: PortForward[];
  /** `mount` nodes, in order; host paths absolute. */
  mounts: SharedFolder[];
  provision: ProvisionStep[];
}

/**
 * The parts of a definition that shape the machine (image, resources,
 * network, firmware, cloud-init, ssh), absent ones as null: what a VM was
 * created from. Provisioners and source positions are left out: editing them
 * needs `vmctl provision`, not a new VM.
 */
export function machineOf(def: VmDef): Record<string, unknown> {
  return {
    image: def.image,
    vcpus: def.vcpus,
    memoryMb: def.memoryMb,
    diskGb: def.diskGb ?? null,
    network: def.network,
    uefi: def.uefi,
    accel: def.accel ?? null,
    vnc: def.vnc,
    cloudInit: def.cloudInit ?? null,
    ssh: def.ssh ?? null,
    // Absent when empty, so a definition without them keeps the hash it had before they existed.
    forwards: def.forwards.length ? def.forwards : undefined,
    mounts: def.mounts.length ? def.mounts : undefined,
  };
}

export interface VmFile {
  /** Absolute path of the file. */
  path: string;
  /** Its directory: the base of relative paths. */
  dir: string;
  vms: VmDef[];
  /** Every local file the VMFile names, per VM and use (checked when used). */
  localFiles: LocalFile[];
}
