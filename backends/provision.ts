// PLACEHOLDER owned by the SSH/provisioning issue (#4): replaced by the real runner.
import { Diagnostic } from "../lib/diagnostics.ts";
import type { VmRecord } from "../lib/types.ts";
import type { VmDef } from "../lib/vmfile/types.ts";
import type { BackendContext } from "./hypervisor.ts";

export interface ProvisionOptions {
  ctx: BackendContext;
  /** Budget for SSH readiness (default 120 s). */
  timeoutMs?: number;
  /** Prefix output lines with the VM name (several VMs in one run). */
  prefixOutput?: boolean;
}

/** Wait for SSH, then run `def.provision` in order on `vm`; throws at the first failure. */
export function provisionVm(_vm: VmRecord, _def: VmDef, _o: ProvisionOptions): Promise<void> {
  return Promise.reject(
    new Diagnostic("vmctl::provision::unavailable", "provisioning is not available yet", {}),
  );
}
