/**
 * Core data types shared by the CLI, the store and the backends.
 *
 * `VmSpec` is what a backend is asked to build (fully resolved, absolute
 * paths); `VmRecord` is what the store keeps about a VM (snake_case JSON, as
 * in the book's VmHandle).
 *
 * @module
 */

/** Which backend owns a VM. */
export type BackendTag = "noop" | "qemu" | "propolis";
export const BACKEND_TAGS: readonly BackendTag[] = ["noop", "qemu", "propolis"];

/** Lifecycle states (the book's table; "preparing" and "destroyed" are never stored). */
export type VmState = "prepared" | "running" | "suspended" | "stopped" | "failed";
export const VM_STATES: readonly VmState[] = [
  "prepared",
  "running",
  "suspended",
  "stopped",
  "failed",
];

/** Network configuration, tagged by `type` (serialised as in the book). */
export type NetworkConfig =
  | { type: "user" }
  | { type: "tap"; bridge: string }
  | { type: "vnic"; name: string }
  | { type: "none" };

/** Accelerator choice for QEMU. */
export type Accel = "kvm" | "tcg" | "auto";
export const ACCELS: readonly Accel[] = ["kvm", "tcg", "auto"];

/** Cloud-init inputs, resolved to absolute paths. */
export interface CloudInitSpec {
  hostname?: string;
  /** Public key file to authorise; when absent (and no userData), a key pair is generated. */
  sshKeyPath?: string;
  /** Raw user-data file, passed through unchanged. */
  userDataPath?: string;
  networkConfigPath?: string;
  vendorDataPath?: string;
}

/** SSH connection settings from the VMFile / CLI. */
export interface SshSpec {
  user: string;
  privateKeyPath?: string;
}

/** Everything a backend needs to prepare a VM. */
export interface VmSpec {
  name: string;
  /** Absolute path of the base image (already downloaded / verified). */
  imagePath: string;
  vcpus: number;
  memoryMb: number;
  diskGb?: number;
  network: NetworkConfig;
  uefi: boolean;
  accel: Accel;
  vnc: boolean;
  /** Absent: no seed ISO at all (the book's "minimal" VM). */
  cloudInit?: CloudInitSpec;
  ssh?: SshSpec;
  /** The VMFile this VM came from, if any (absolute path). */
  vmfile?: string;
}

/**
 * What the store keeps about one VM. Optional fields default to null/absent;
 * unknown fields written by newer versions are preserved on rewrite.
 */
export interface VmRecord {
  id: string;
  name: string;
  backend: BackendTag;
  state: VmState;
  /** Why the VM is failed/stopped when vmctl did not stop it. */
  state_reason?: string | null;
  work_dir: string;
  image_path?: string | null;
  overlay_path?: string | null;
  seed_iso_path?: string | null;
  pid?: number | null;
  qmp_socket?: string | null;
  console_socket?: string | null;
  console_log?: string | null;
  vnc_addr?: string | null;
  vnc?: boolean;
  vcpus: number;
  memory_mb: number;
  disk_gb?: number | null;
  network: NetworkConfig;
  uefi?: boolean;
  accel?: Accel;
  ssh_host_port?: number | null;
  mac_addr?: string | null;
  /** SSH user recorded at create time (VMFile ssh block / cloud-init user). */
  ssh_user?: string | null;
  /** Private key path recorded at create time (generated or given). */
  ssh_private_key?: string | null;
  /** The VM's own known_hosts file (host key injected through cloud-init). */
  known_hosts?: string | null;
  /** cloud-init instance-id baked into the seed. */
  instance_id?: string | null;
  vmfile?: string | null;
  created_at: string;
  [extra: string]: unknown;
}

/** Where to reach a VM's SSH server. */
export interface SshEndpoint {
  host: string;
  port: number;
}

/** How to attach to a VM's serial console. */
export type ConsoleEndpoint =
  | { kind: "unix"; path: string }
  | { kind: "websocket"; url: string }
  | { kind: "none"; reason: string };
