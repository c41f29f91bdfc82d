/**
 * The files of a VM, by name: everything vmctl or a backend keeps in a VM's
 * work directory (`<data dir>/vms/<name>/`, mode 0700), in one table, so a
 * file is named in one place and every reader and writer agrees on it.
 *
 * Sockets go to the work dir when their path fits in sun_path, else to a
 * private runtime dir under the same names (backends/qemu/host.ts decides).
 *
 * @module
 */
import { join } from "./posix_path.ts";

/** File names inside a VM's work dir. */
export const VM_FILES = {
  /** Copy-on-write disk over the base image (qemu-img create -b). */
  overlay: "overlay.qcow2",
  /** The cloud-init NoCloud seed (volume label `cidata`). */
  seedIso: "seed.iso",
  /** UEFI variable store, a private copy of OVMF_VARS. */
  efivars: "efivars.fd",
  /** QEMU's pidfile; its presence after QEMU is gone means QEMU was killed. */
  pidfile: "qemu.pid",
  /** QMP control socket. */
  qmpSocket: "qmp.sock",
  /** Serial console socket (`vmctl console`). */
  consoleSocket: "console.sock",
  /** Serial console output (`vmctl log --console`). */
  consoleLog: "console.log",
  /**
   * How much of a Propolis server's serial history `console.log` holds: the
   * server's byte offset and the log's length after the last capture.
   */
  consoleOffset: "console.offset",
  /** Lock taken while the serial history is appended to `console.log`. */
  consoleCaptureLock: "console.offset.lock",
  /** Output of the provisioners (`vmctl log --provision`). */
  provisionLog: "provision.log",
  /** The client key pair vmctl generated (`.pub` beside it). */
  generatedKey: "id_ed25519_generated",
  /** The VM's own known_hosts (host key injected through cloud-init). */
  knownHosts: "known_hosts",
  /** vmctl's facts about the VM's snapshots (which QEMU wrote each one). */
  snapshots: "snapshots.json",
} as const;

/**
 * OpenSSH ControlPath of a shared connection to the guest: one per identity
 * (user, key, host-key alias), named by a hash of it so only the same
 * identity reuses a connection and the path stays short.
 */
export function sshMuxName(identityHex: string): string {
  return `ssh-${identityHex}.mux`;
}

/** The names {@link sshMuxName} gives (16 hex digits of identity hash). */
export const SSH_MUX_NAME = /^ssh-[0-9a-f]{16}\.mux$/;

/** What a VM file is called in the table. */
export type VmFile = keyof typeof VM_FILES;

/** The path of `file` inside the work dir `workDir`. */
export function vmFile(workDir: string, file: VmFile): string {
  return join(workDir, VM_FILES[file]);
}
