/**
 * Writing key material safely: files are created with their final mode (0600
 * for secrets) so there is never a moment when they are readable by others,
 * and replaced atomically (temp file, fsync, rename).
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import {
  type Ed25519KeyPair,
  formatPrivateKey,
  formatPublicKey,
  parsePublicKeyLine,
} from "./ed25519.ts";

const enc = new TextEncoder();

/**
 * Write `data` to `path` atomically with `mode` applied at creation: a temp
 * file next to it (created exclusively), fsync, rename. The temp file is
 * removed if anything fails.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  try {
    using f = await Deno.open(tmp, { write: true, createNew: true, mode });
    let done = 0;
    while (done < bytes.length) done += await f.write(bytes.subarray(done));
    await f.sync();
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw writeError(path, err);
  }
  try {
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw writeError(path, err);
  }
}

function writeError(path: string, err: unknown): unknown {
  if (err instanceof Deno.errors.NotFound) {
    return new Diagnostic(
      "vmctl::fs::no_directory",
      `cannot write ${path}: its directory does not exist`,
      {
        hint: "create the directory first, or choose another path",
        cause: err,
      },
    );
  }
  if (err instanceof Deno.errors.PermissionDenied && !/--allow/.test(String(err))) {
    return new Diagnostic(
      "vmctl::fs::permission_denied",
      `cannot write ${path}: permission denied`,
      {
        hint: "choose a directory you can write to",
        cause: err,
      },
    );
  }
  return err;
}

/** Write `privatePath` (0600) and `privatePath.pub` (0644). Returns the public key line. */
export async function writeKeyPair(privatePath: string, kp: Ed25519KeyPair): Promise<string> {
  const pub = formatPublicKey(kp);
  await writeFileAtomic(privatePath, formatPrivateKey(kp), 0o600);
  await writeFileAtomic(`${privatePath}.pub`, pub + "\n", 0o644);
  return pub;
}

/** Read and validate a public key file; returns the trimmed key line. */
export async function readPublicKeyFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Diagnostic("vmctl::sshkey::not_found", `SSH public key ${path} does not exist`, {
        hint: "check the ssh-key path, or leave it out to let vmctl generate a key pair",
        cause: err,
      });
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new Diagnostic("vmctl::sshkey::bad_public_key", `${path} is a directory`, {
        hint: "pass the .pub file",
      });
    }
    throw err;
  }
  return parsePublicKeyLine(text, path);
}
