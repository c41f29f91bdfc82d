// PLACEHOLDER owned by the seed issue (#6): replaced by the real seed writer.
import { Diagnostic } from "../diagnostics.ts";
import type { CloudInitSpec } from "../types.ts";

export interface VmSeedOptions {
  /** The VM's work dir (exists, 0700). */
  workDir: string;
  vmName: string;
  /** cloud-init instance-id: new for every created/recreated VM. */
  instanceId: string;
  cloudInit: CloudInitSpec;
  /** The SSH user to create (VMFile ssh block user, default "vm"). */
  sshUser: string;
}

export interface VmSeedResult {
  /** `<workDir>/seed.iso` */
  seedIsoPath: string;
  /** `<workDir>/id_ed25519_generated` when vmctl generated the client key pair. */
  generatedPrivateKey?: string;
  /** `<workDir>/known_hosts` holding `vmctl-<vmName> ssh-ed25519 ...` when vmctl injected the host key. */
  knownHostsPath?: string;
  /** The host-key alias written in known_hosts (`vmctl-<vmName>`), for ssh -o HostKeyAlias. */
  hostKeyAlias?: string;
}

/** Write keys and seed.iso for a VM into its work dir. */
export function writeVmSeed(_o: VmSeedOptions): Promise<VmSeedResult> {
  return Promise.reject(
    new Diagnostic("vmctl::seed::unavailable", "seed ISO generation is not available yet", {}),
  );
}
