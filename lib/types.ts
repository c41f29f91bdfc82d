/**
 * Core data types shared by the CLI, the store and the backends.
 *
 * `VmConfig` is a VM as declared (VMFile or `create` options), `VmSpec` the
 * same with its image resolved (what a backend prepares); `VmRecord` is what
 * the store keeps about a VM (snake_case JSON, as in the book's VmHandle).
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
  /** illumos (Propolis): the guest's viona VNIC, over `link`, its address from zone pool `pool`. */
  | { type: "vnic"; name?: string; link?: string; pool?: string }
  | { type: "none" };

/** One-line description of a network config. */
export function describeNetwork(n: NetworkConfig): string {
  switch (n.type) {
    case "tap":
      return `tap (bridge ${n.bridge})`;
    case "vnic":
      return `vnic (${
        [
          n.name ?? "named after the VM",
          ...(n.link ? [`over ${n.link}`] : []),
          ...(n.pool ? [`address from pool ${n.pool}`] : []),
        ].join(", ")
      })`;
    case "user":
      return "user (SLIRP, SSH forwarded on 127.0.0.1)";
    default:
      return "none";
  }
}

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
  /** The guest's SSH port (default 22). */
  port?: number;
}

export type { PortForward, SharedFolder } from "./forwards.ts";
import type { PortForward, SharedFolder } from "./forwards.ts";

/** Where a VM's base image comes from (VMFile `image`, `--image` / `--image-url`). */
export type { ImageSource } from "./vmfile/types.ts";
import type { ImageSource } from "./vmfile/types.ts";

/**
 * A VM as declared: what a VMFile `vm` block and the `create` options both
 * produce, validated and with absolute paths. The domain (vm/create.ts) turns
 * it into a plan; the backend's `prepare` receives it with the resolved image.
 */
export interface VmConfig {
  name: string;
  backend: BackendTag;
  image: ImageSource;
  vcpus: number;
  memoryMb: number;
  diskGb?: number;
  network: NetworkConfig;
  uefi: boolean;
  accel: Accel;
  vnc: boolean;
  /** Absent: no seed ISO. Without sshKeyPath/userDataPath a key pair is generated. */
  cloudInit?: CloudInitSpec;
  sshUser: string;
  /** The guest's SSH port, when not 22 (VMFile `ssh { port }`). */
  sshPort?: number;
  /** A private key the user named (VMFile `ssh.private-key`, or next to `--ssh-key`). */
  sshPrivateKey?: string;
  /** Host ports forwarded to the guest (user networking only). */
  forwards?: PortForward[];
  /** Host directories shared with the guest (virtio-9p, mounted through cloud-init). */
  mounts?: SharedFolder[];
  /** Absolute path of the VMFile this VM comes from. */
  vmfile?: string;
  /** Hash of the VMFile definition (vm/converge.ts `defHash`). */
  defHash?: string;
}

/** What a backend prepares: the declared VM with its base image resolved to a local file. */
export interface VmSpec extends VmConfig {
  /** Absolute path of the base image (already downloaded / verified; "" for the noop backend). */
  imagePath: string;
}

/** A marker set on a record while a vmctl process changes the VM (see store `busyHolder`). */
export interface VmOperation {
  pid: number;
  action: string;
  started_at: string;
}

/**
 * What the store keeps about one VM. Optional fields default to null/absent.
 * Every field vmctl reads is typed here; fields written by newer versions are
 * kept by lib/store.ts alone and written back unchanged.
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
  /** The host port forwarded to the guest's SSH: chosen once at create, kept across starts. */
  ssh_host_port?: number | null;
  /** Host ports forwarded to the guest besides SSH. */
  forwards?: PortForward[];
  /** Host directories shared with the guest. */
  mounts?: SharedFolder[];
  mac_addr?: string | null;
  /** SSH user recorded at create time (VMFile ssh block / cloud-init user). */
  ssh_user?: string | null;
  /** The guest's SSH port when not 22 (reached directly: tap and Propolis networking). */
  ssh_port?: number | null;
  /** Private key path recorded at create time (generated or given). */
  ssh_private_key?: string | null;
  /** The VM's own known_hosts file (host key injected through cloud-init). */
  known_hosts?: string | null;
  /** cloud-init instance-id baked into the seed. */
  instance_id?: string | null;
  vmfile?: string | null;
  /** Where the image came from (shown by `status` when there is no local path). */
  image_source?: ImageSource;
  /** The UEFI variable store (QEMU backend, UEFI VMs). */
  efivars_path?: string | null;
  /** The accelerator QEMU was started with (kvm or tcg). */
  accel_in_use?: "kvm" | "tcg" | null;
  /** The known_hosts alias of the injected host key (`vmctl-<name>`). */
  host_key_alias?: string | null;
  /** Hash of the VMFile definition this VM was created from. */
  def_hash?: string | null;
  /** The running state `stop --save` kept for the next start (one use). */
  saved_state?: SavedState | null;
  /** Set while a vmctl process changes the VM. */
  operation?: VmOperation;
  /** What the Propolis backend made for the VM (its zone, disk, links, addresses). */
  propolis?: PropolisParts | null;
  created_at: string;
}

/**
 * A Propolis VM's parts on the illumos host: the zone that runs its own
 * propolis-server, the ZFS clone that is its disk, the guest's VNIC and the
 * addresses reserved for it in the zone registry (the IPAM ledger).
 */
export interface PropolisParts {
  /** The zone running the VM's propolis-server (registered in the zone registry). */
  zone: string;
  /** `ip:port` of the VM's propolis-server (the zone's own address). */
  server: string;
  /** The VM's disk: a ZFS clone of the image volume's `@base` snapshot. */
  disk_dataset: string;
  /** The image volume the disk was cloned from. */
  image_dataset: string;
  /** The guest's viona VNIC (in the VM's zone). */
  guest_vnic: string;
  /** Whether vmctl created the guest VNIC (and so deletes it with the VM). */
  guest_vnic_created: boolean;
  /** The guest's address (CIDR), when it comes from a pool. */
  guest_address?: string | null;
  /** The instance id sent with every ensure (a UUID). */
  instance_uuid: string;
  /** The guest NIC's interface id (a UUID). */
  interface_uuid: string;
}

/**
 * The QEMU that wrote a memory snapshot: only the same version and machine
 * type can load it back.
 */
export interface SnapshotOrigin {
  qemu_version: string;
  machine: string;
}

/** A running state kept by `stop --save` (an internal snapshot of the overlay). */
export interface SavedState extends SnapshotOrigin {
  /** The internal snapshot's tag. */
  tag: string;
  saved_at: string;
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
