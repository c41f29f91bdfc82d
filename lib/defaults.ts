/**
 * The defaults and limits a user can rely on, each defined once: the SSH
 * user, the accelerator (and its environment override), the time budgets the
 * commands wait for and the resources a VM may ask for. Option help texts and
 * docs quote these values.
 *
 * @module
 */
import { Diagnostic } from "./diagnostics.ts";
import { env } from "./paths.ts";
import { type Accel, ACCELS } from "./types.ts";

/**
 * The resources a VM may ask for, the same for `vmctl create` and the VMFile:
 * QEMU's x86 maximum is 255 vCPUs without an IOMMU; less than 16 MB of memory
 * boots nothing and memory fits an i32 of MB; a disk stays below qcow2's
 * ceiling (2 PiB with 64 KiB clusters).
 */
export const VM_LIMITS = {
  vcpus: { min: 1, max: 255 },
  memoryMb: { min: 16, max: 2 ** 31 - 1 },
  diskGb: { min: 1, max: 2 ** 20 },
} as const;

/** The Linux bridge a `tap` network joins when none is named (the book's and QEMU's `br0`). */
export const DEFAULT_BRIDGE = "br0";

/** The SSH user vmctl creates in a guest and logs in as, unless told otherwise. */
export const DEFAULT_SSH_USER = "vm";

/** The accelerator when neither a flag, the VMFile, nor {@link ACCEL_ENV} names one. */
export const DEFAULT_ACCEL: Accel = "auto";

/** The environment variable that overrides {@link DEFAULT_ACCEL}. */
export const ACCEL_ENV = "VMCTL_ACCEL";

/** The accelerator {@link ACCEL_ENV} asks for, or undefined when unset; a bad value is a diagnostic. */
export function accelFromEnv(): Accel | undefined {
  const e = env(ACCEL_ENV);
  if (!e) return undefined;
  if (!(ACCELS as readonly string[]).includes(e)) {
    throw new Diagnostic("vmctl::qemu::bad_accel", `${ACCEL_ENV}=${e} is not kvm, tcg or auto`, {
      hint: `set ${ACCEL_ENV} to kvm, tcg or auto`,
    });
  }
  return e as Accel;
}

/** The accelerator for a new VM: the one given (flag or VMFile), else {@link ACCEL_ENV}, else auto. */
export function requestedAccel(given?: Accel): Accel {
  return given ?? accelFromEnv() ?? DEFAULT_ACCEL;
}

/** How long `stop`, `down` and `reload` wait for a graceful shutdown before forcing it. */
export const STOP_TIMEOUT_MS = 30_000;

/** How long `destroy` waits for a running VM to shut down gracefully. */
export const DESTROY_STOP_TIMEOUT_MS = 5_000;

/** How long `vmctl ssh` waits for the guest's SSH to be ready. */
export const SSH_READY_TIMEOUT_MS = 30_000;

/** How long `up` and `provision` wait for SSH before provisioning. */
export const PROVISION_READY_TIMEOUT_MS = 120_000;

/** How long a start from a saved state (`stop --save`) waits for the guest's SSH again. */
export const RESUME_READY_TIMEOUT_MS = 120_000;

/** How long an external command may run unless its caller says otherwise. */
export const COMMAND_TIMEOUT_MS = 120_000;

/** A budget as the `--timeout <seconds>` option shows its default. */
export function inSeconds(ms: number): string {
  return String(ms / 1000);
}
