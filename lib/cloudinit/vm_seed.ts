/**
 * Everything cloud-init needs for one VM, in its work dir: `seed.iso` (0600),
 * the generated client key pair when no key was given, and `known_hosts`
 * with the host key vmctl generated and injected, so the first SSH
 * connection can already verify the guest (StrictHostKeyChecking=yes).
 *
 * @module
 */
import { join } from "node:path";
import { validateVmName } from "../names.ts";
import type { CloudInitSpec } from "../types.ts";
import { formatPrivateKey, formatPublicKey, generateEd25519 } from "../sshkey/ed25519.ts";
import { readPublicKeyFile, writeFileAtomic, writeKeyPair } from "../sshkey/files.ts";
import {
  buildMetaData,
  buildUserData,
  defaultHostname,
  validateHostname,
  validateUserName,
} from "./config.ts";
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
  /** Timestamp inside the ISO (default SOURCE_DATE_EPOCH or now). */
  timestamp?: Date;
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
export const GENERATED_KEY = "id_ed25519_generated";
export const KNOWN_HOSTS = "known_hosts";
export const SEED_ISO = "seed.iso";

const enc = new TextEncoder();

/** The known_hosts alias of a VM's host key. */
export function hostKeyAlias(vmName: string): string {
  return `vmctl-${vmName}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
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
  const hostname = ci.hostname !== undefined
    ? validateHostname(ci.hostname)
    : defaultHostname(o.vmName);
  const seedIsoPath = join(o.workDir, SEED_ISO);
  const result: VmSeedResult = { seedIsoPath };
  const files: Partial<SeedFiles> = {
    metaData: enc.encode(buildMetaData({ instanceId: o.instanceId, hostname })),
  };
  if (ci.networkConfigPath) {
    files.networkConfig = await readSeedInput(ci.networkConfigPath, "network-config");
  }
  if (ci.vendorDataPath) files.vendorData = await readSeedInput(ci.vendorDataPath, "vendor-data");

  const keyPath = join(o.workDir, GENERATED_KEY);
  let newClientKey: Awaited<ReturnType<typeof generateEd25519>> | undefined;
  let knownHosts: string | undefined;
  if (ci.userDataPath) {
    // Raw user-data is the user's own: passed through unchanged, no keys injected.
    files.userData = await readSeedInput(ci.userDataPath, "user-data");
  } else {
    const user = validateUserName(o.sshUser);
    let authorizedKey: string;
    if (ci.sshKeyPath) authorizedKey = await readPublicKeyFile(ci.sshKeyPath);
    else if ((await exists(keyPath)) && (await exists(`${keyPath}.pub`))) {
      authorizedKey = await readPublicKeyFile(`${keyPath}.pub`);
      result.generatedPrivateKey = keyPath;
    } else {
      newClientKey = await generateEd25519(`vmctl-${o.vmName}`);
      authorizedKey = formatPublicKey(newClientKey);
      result.generatedPrivateKey = keyPath;
    }
    const hostKey = await generateEd25519(`root@${hostname}`);
    const hostPublic = formatPublicKey({ ...hostKey, comment: "" });
    knownHosts = `${hostKeyAlias(o.vmName)} ${hostPublic}\n`;
    files.userData = enc.encode(buildUserData({
      user,
      hostname,
      authorizedKey,
      hostKey: { privatePem: formatPrivateKey(hostKey), publicLine: formatPublicKey(hostKey) },
    }));
  }

  const created: string[] = [];
  try {
    if (newClientKey) {
      created.push(keyPath, `${keyPath}.pub`);
      await writeKeyPair(keyPath, newClientKey);
    }
    if (!(await exists(seedIsoPath))) created.push(seedIsoPath);
    await writeSeedIso(seedIsoPath, files as SeedFiles, { timestamp: o.timestamp });
    if (knownHosts !== undefined) {
      const path = join(o.workDir, KNOWN_HOSTS);
      if (!(await exists(path))) created.push(path);
      await writeFileAtomic(path, knownHosts, 0o600);
      result.knownHostsPath = path;
      result.hostKeyAlias = hostKeyAlias(o.vmName);
    }
  } catch (err) {
    for (const p of created) await Deno.remove(p).catch(() => {});
    throw err;
  }
  return result;
}
