/**
 * What the QEMU backend reads from a VM's record: its pidfile and the fields
 * only a record it prepared has.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import type { VmRecord } from "../../lib/types.ts";
import { vmFile } from "../../lib/vm_files.ts";

/** The pidfile of the VM's QEMU. */
export const pidFileOf = (vm: VmRecord): string => vmFile(vm.work_dir, "pidfile");

/** `v`, or `vmctl::qemu::incomplete_record` naming `what` the record lacks. */
export function requireField(vm: VmRecord, v: string | null | undefined, what: string): string {
  if (!v) {
    throw new Diagnostic("vmctl::qemu::incomplete_record", `VM '${vm.name}' has no ${what}`, {
      hint:
        `the record was not prepared by the QEMU backend; recreate it (vmctl destroy ${vm.name})`,
    });
  }
  return v;
}
