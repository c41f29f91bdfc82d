/**
 * The key material of a generated cloud-config: the client key to authorise
 * (given, reused from an earlier run, or generated) and a fresh ed25519 host
 * key with its known_hosts line. Shared by `writeVmSeed` and `vmctl seed`.
 *
 * @module
 */
import {
  type Ed25519KeyPair,
  formatPrivateKey,
  formatPublicKey,
  generateEd25519,
} from "../sshkey/ed25519.ts";
import { Diagnostic } from "../diagnostics.ts";
import { pathExists, writeAtomic } from "../files.ts";
import { readPublicKeyFile, writeKeyPair } from "../sshkey/files.ts";
import { host } from "../../host/mod.ts";

export interface SeedKeys {
  /** The public key line put in the user's authorized_keys. */
  authorizedKey: string;
  /** A client key pair generated now, still to be written to `generatedKeyPath`. */
  newClientKey?: Ed25519KeyPair;
  /** Set when the client key is (or will be) the generated one at this path. */
  generatedKeyPath?: string;
  hostKey: { privatePem: string; publicLine: string };
  /** `<alias> ssh-ed25519 AAAA...\n` */
  knownHostsLine: string;
}

/**
 * Decide the client key and generate the host key. With `sshKeyPath` that
 * key is authorised; otherwise an existing pair at `generatedKeyPath` is
 * reused, or a new one is generated (written later by {@link commitFiles}).
 */
export async function prepareSeedKeys(o: {
  sshKeyPath?: string;
  generatedKeyPath: string;
  clientComment: string;
  hostname: string;
  alias: string;
}): Promise<SeedKeys> {
  let authorizedKey: string;
  let newClientKey: Ed25519KeyPair | undefined;
  let generatedKeyPath: string | undefined;
  if (o.sshKeyPath) authorizedKey = await readPublicKeyFile(o.sshKeyPath);
  else {
    generatedKeyPath = o.generatedKeyPath;
    const havePrivate = await pathExists(o.generatedKeyPath);
    const havePublic = await pathExists(`${o.generatedKeyPath}.pub`);
    if (havePrivate !== havePublic) {
      // Half a pair is someone's file: never overwrite it.
      const [have, missing] = havePrivate
        ? [o.generatedKeyPath, `${o.generatedKeyPath}.pub`]
        : [`${o.generatedKeyPath}.pub`, o.generatedKeyPath];
      throw new Diagnostic(
        "vmctl::sshkey::incomplete_pair",
        `${have} exists but ${missing} does not`,
        {
          hint:
            `restore ${missing}, remove ${have} to let vmctl generate a new pair, or pass a public key explicitly`,
        },
      );
    }
    if (havePrivate) {
      authorizedKey = await readPublicKeyFile(`${o.generatedKeyPath}.pub`);
    } else {
      newClientKey = await generateEd25519(o.clientComment);
      authorizedKey = formatPublicKey(newClientKey);
    }
  }
  const host = await generateEd25519(`root@${o.hostname}`);
  return {
    authorizedKey,
    newClientKey,
    generatedKeyPath,
    hostKey: { privatePem: formatPrivateKey(host), publicLine: formatPublicKey(host) },
    knownHostsLine: `${o.alias} ${formatPublicKey({ ...host, comment: "" })}\n`,
  };
}

/**
 * Run the writes of one operation in order; if one fails, remove every file
 * the earlier steps created (files that existed before are left in place).
 */
export async function commitFiles(
  steps: { path: string; alsoCreates?: string[]; write: () => Promise<unknown> }[],
): Promise<void> {
  const created: string[] = [];
  try {
    for (const s of steps) {
      for (const p of [s.path, ...(s.alsoCreates ?? [])]) {
        if (!(await pathExists(p))) created.push(p);
      }
      await s.write();
    }
  } catch (err) {
    for (const p of created) await host.remove(p).catch(() => {});
    throw err;
  }
}

/** The write steps for a new client key pair (none when the key was given or reused). */
export function clientKeySteps(keys: SeedKeys) {
  if (!keys.newClientKey || !keys.generatedKeyPath) return [];
  const path = keys.generatedKeyPath;
  const kp = keys.newClientKey;
  return [{ path, alsoCreates: [`${path}.pub`], write: () => writeKeyPair(path, kp) }];
}

/** The write step for a known_hosts file (0600). */
export function knownHostsStep(path: string, keys: SeedKeys) {
  return { path, write: () => writeAtomic(path, keys.knownHostsLine, { mode: 0o600 }) };
}
