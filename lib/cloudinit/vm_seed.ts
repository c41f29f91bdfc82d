/**
 * Everything cloud-init needs for one VM, in its work dir: `seed.iso` (0600),
 * the generated client key pair when no key was given, and `known_hosts`
 * with the host key vmctl generated and injected, so the first SSH
 * connection can already verify the guest (StrictHostKeyChecking=yes).
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { join } from "../posix_path.ts";
import { validateVmName } from "../names.ts";
import type { CloudInitSpec, SharedFolder } from "../types.ts";
import { VM_FILES } from "../vm_files.ts";
import {
  buildMetaData,
  buildUserData,
  defaultHostname,
  validateHostname,
  validateUserName,
} from "./config.ts";
import {
  clientKeySteps,
  commitFiles,
  knownHostsStep,
  prepareSeedKeys,
  type SeedKeys,
} from "./keys.ts";
import { readSeedInput, type SeedFiles, writeSeedIso } from "./seed.ts";

export interface VmSeedOptions {
  /** The VM's work dir (exists, 0700). */
  workDir: string;
  vmName: string;
  /** cloud-init instance-id: new for every created/recreated VM. */
  instanceId: string;
  cloudInit: CloudInitSpec;
  /** The SSH user to create (VMFile ssh block user, default "vm"). */
  sshUser: string;
  /** Shared folders the guest mounts at boot (generated user-data only). */
  mounts?: SharedFolder[];
  /** Timestamp inside the ISO (default SOURCE_DATE_EPOCH or now). */
  timestamp?: Date;
  /**
   * network-config vmctl generated (the guest's address from a pool); a
   * network-config file the user gave wins over it.
   */
  networkConfig?: string;
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

/** File names inside the work dir. */
export const GENERATED_KEY = VM_FILES.generatedKey;
export const KNOWN_HOSTS = VM_FILES.knownHosts;
export const SEED_ISO = VM_FILES.seedIso;

const enc = new TextEncoder();

/** The known_hosts alias of a VM's host key. */
export function hostKeyAlias(vmName: string): string {
  return `vmctl-${vmName}`;
}

/**
 * Write keys and seed.iso for a VM into its work dir. Inputs are read and
 * validated before anything is written; if a write fails, the files this
 * call created are removed again. A generated client key pair that already
 * exists in the work dir (reload, recreate) is reused, so the user's key
 * stays valid; the host key is new each time, like the instance-id.
 */
export async function writeVmSeed(o: VmSeedOptions): Promise<VmSeedResult> {
  validateVmName(o.vmName);
  const ci = o.cloudInit;
  // Callers fill in the VM name as the hostname when none was given; a VM name is not always
  // a valid host name (`my_vm`), so that default is made valid rather than refused.
  const hostname = ci.hostname === undefined || ci.hostname === o.vmName
    ? defaultHostname(o.vmName)
    : validateHostname(ci.hostname);
  const seedIsoPath = join(o.workDir, SEED_ISO);
  const files: Partial<SeedFiles> = {
    metaData: enc.encode(buildMetaData({ instanceId: o.instanceId, hostname })),
  };
  if (ci.networkConfigPath) {
    files.networkConfig = await readSeedInput(ci.networkConfigPath, "network-config");
  } else if (o.networkConfig) files.networkConfig = enc.encode(o.networkConfig);
  if (ci.vendorDataPath) files.vendorData = await readSeedInput(ci.vendorDataPath, "vendor-data");

  let keys: SeedKeys | undefined;
  if (ci.userDataPath) {
    // Raw user-data is the user's own: passed through unchanged, no keys injected.
    if (o.mounts?.length) throw mountsNeedGeneratedUserData();
    files.userData = await readSeedInput(ci.userDataPath, "user-data");
  } else {
    const user = validateUserName(o.sshUser);
    keys = await prepareSeedKeys({
      sshKeyPath: ci.sshKeyPath,
      generatedKeyPath: join(o.workDir, GENERATED_KEY),
      clientComment: hostKeyAlias(o.vmName),
      hostname,
      alias: hostKeyAlias(o.vmName),
    });
    files.userData = enc.encode(buildUserData({
      user,
      hostname,
      authorizedKey: keys.authorizedKey,
      hostKey: keys.hostKey,
      mounts: o.mounts,
    }));
  }

  const knownHostsPath = join(o.workDir, KNOWN_HOSTS);
  await commitFiles([
    ...(keys ? clientKeySteps(keys) : []),
    {
      path: seedIsoPath,
      write: () => writeSeedIso(seedIsoPath, files as SeedFiles, { timestamp: o.timestamp }),
    },
    ...(keys ? [knownHostsStep(knownHostsPath, keys)] : []),
  ]);
  const result: VmSeedResult = { seedIsoPath };
  if (keys?.generatedKeyPath) result.generatedPrivateKey = keys.generatedKeyPath;
  if (keys) {
    result.knownHostsPath = knownHostsPath;
    result.hostKeyAlias = hostKeyAlias(o.vmName);
  }
  return result;
}

function mountsNeedGeneratedUserData(): Diagnostic {
  return new Diagnostic(
    "vmctl::cloudinit::mount_needs_user_data",
    "shared folders are mounted by the user-data vmctl writes, but raw user-data was given",
    { hint: "mount the folders in your user-data (9p tags vmctl0, vmctl1, ...) or drop it" },
  );
}
