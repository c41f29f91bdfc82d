/**
 * Writing key material safely: files are created with their final mode (0600
 * for secrets) so there is never a moment when they are readable by others,
 * and replaced atomically (lib/files.ts writeAtomic).
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { writeAtomic } from "../files.ts";
import {
  type Ed25519KeyPair,
  formatPrivateKey,
  formatPublicKey,
  parsePublicKeyLine,
} from "./ed25519.ts";
import { errorKind, host, isNotFound } from "../../host/mod.ts";

/** Write `privatePath` (0600) and `privatePath.pub` (0644). Returns the public key line. */
export async function writeKeyPair(privatePath: string, kp: Ed25519KeyPair): Promise<string> {
  const pub = formatPublicKey(kp);
  await writeAtomic(privatePath, formatPrivateKey(kp), { mode: 0o600 });
  await writeAtomic(`${privatePath}.pub`, pub + "\n", { mode: 0o644 });
  return pub;
}

/** Read and validate a public key file; returns the trimmed key line. */
export async function readPublicKeyFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await host.readTextFile(path);
  } catch (err) {
    if (isNotFound(err)) {
      throw new Diagnostic("vmctl::sshkey::not_found", `SSH public key ${path} does not exist`, {
        hint: "check the ssh-key path, or leave it out to let vmctl generate a key pair",
        cause: err,
      });
    }
    if (errorKind(err) === "IsADirectory") {
      throw new Diagnostic("vmctl::sshkey::bad_public_key", `${path} is a directory`, {
        hint: "pass the .pub file",
      });
    }
    throw err;
  }
  return parsePublicKeyLine(text, path);
}
