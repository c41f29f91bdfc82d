/**
 * SSH to VMs through the system OpenSSH client: target resolution
 * (endpoint, user, key, host-key policy), readiness, exec and upload.
 *
 * This is the "lib/ssh": it spawns processes, so it lives in
 * backends/ (lib/ stays pure).
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { log } from "../../lib/log.ts";
import type { VmRecord } from "../../lib/types.ts";
import type { BackendContext } from "../hypervisor.ts";
import { backendFor } from "../router.ts";
import { controlPathFor, type SshTarget } from "./args.ts";
import { hostKeyPolicy, type KeySource, resolveSshKey, resolveSshUser } from "./resolve.ts";

export { describeTarget, shJoin, shQuote, sshArgv, type SshTarget } from "./args.ts";
export { closeAllMasters, sshUpload, streamSsh } from "./exec.ts";
export { waitForSsh } from "./readiness.ts";

export interface TargetOptions {
  cliUser?: string;
  cliKey?: string;
  /** From the VMFile's ssh block, when a VMFile is at hand. */
  vmfileUser?: string;
  vmfileKey?: string;
  /** Budget for the backend to report the guest's address (tap networking polls). */
  addressTimeoutMs?: number;
}

/** A resolved target plus where its key came from (for messages). */
export interface ResolvedTarget {
  target: SshTarget;
  keySource: KeySource;
}

/**
 * Resolve how to reach `vm` over SSH. A noop VM (no guest) and a VM without
 * network are refused with a diagnostic; the key/user follow the book's order.
 */
export async function sshTargetFor(
  vm: VmRecord,
  ctx: BackendContext,
  o: TargetOptions = {},
): Promise<ResolvedTarget> {
  if (vm.backend === "noop") {
    throw new Diagnostic(
      "vmctl::ssh::no_guest",
      `VM '${vm.name}' runs on the noop backend: there is no guest to connect to`,
      { hint: "the noop backend only records VMs; create it with the qemu backend to get a guest" },
    );
  }
  if (vm.network?.type === "none") {
    throw new Diagnostic(
      "vmctl::ssh::no_network",
      `VM '${vm.name}' has no network (network none): SSH cannot reach it`,
      { hint: "use `vmctl console` for this VM, or give it user or tap networking" },
    );
  }
  const user = resolveSshUser(vm, { cliUser: o.cliUser, vmfileUser: o.vmfileUser });
  const key = resolveSshKey(vm, { cliKey: o.cliKey, vmfileKey: o.vmfileKey });
  const hk = hostKeyPolicy(vm);
  const backend = await backendFor(vm.backend);
  const ep = await backend.guestIp(vm, ctx, o.addressTimeoutMs);
  if (hk.policy === "tofu") {
    log.info(
      `note: vmctl did not inject a host key for '${vm.name}' (raw user-data): trusting the first key it presents, recorded in ${hk.knownHostsPath}`,
    );
  }
  const controlPath = await controlPathFor(vm.work_dir, {
    user,
    keyPath: key.path,
    hostKeyAlias: hk.hostKeyAlias,
  });
  return {
    target: {
      controlPath,
      host: ep.host,
      port: ep.port,
      user,
      keyPath: key.path,
      knownHostsPath: hk.knownHostsPath,
      hostKeyAlias: hk.hostKeyAlias,
      hostKeyPolicy: hk.policy,
    },
    keySource: key.source,
  };
}
