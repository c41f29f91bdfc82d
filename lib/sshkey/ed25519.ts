/**
 * Ed25519 key pairs from WebCrypto, in OpenSSH's formats: the public key as
 * an `ssh-ed25519 AAAA... comment` line, the private key as an unencrypted
 * `openssh-key-v1` PEM (PROTOCOL.key in the OpenSSH sources). No ssh-keygen
 * at run time.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { concatBytes } from "../bytes.ts";

export interface Ed25519KeyPair {
  /** The 32-byte public key. */
  publicKey: Uint8Array;
  /** The 32-byte private seed. */
  seed: Uint8Array;
  comment: string;
}

const KEY_TYPE = "ssh-ed25519";
const enc = new TextEncoder();

/** Standard base64 of bytes. */
export function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64Url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

/** Generate a key pair with the platform's CSPRNG. */
export async function generateEd25519(comment = ""): Promise<Ed25519KeyPair> {
  checkComment(comment);
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const { privateKey, publicKey } = pair as CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", publicKey));
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  return { publicKey: raw, seed: fromBase64Url(jwk.d!), comment };
}

function checkComment(comment: string): void {
  if (hasControl(comment)) {
    throw new Diagnostic(
      "vmctl::sshkey::bad_comment",
      "a key comment cannot hold control characters",
      {
        hint: "use a single-line comment such as user@host",
      },
    );
  }
}

/** True when `s` holds a C0 control character or DEL. */
export function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** SSH wire encoding: u32 length + bytes. */
function sshString(data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === "string" ? enc.encode(data) : data;
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

/** The public key blob: string "ssh-ed25519", string key. */
export function publicKeyBlob(publicKey: Uint8Array): Uint8Array {
  return concatBytes([sshString(KEY_TYPE), sshString(publicKey)]);
}

/** `ssh-ed25519 AAAA... comment` (no comment part when the comment is empty). */
export function formatPublicKey(kp: Pick<Ed25519KeyPair, "publicKey" | "comment">): string {
  const line = `${KEY_TYPE} ${base64(publicKeyBlob(kp.publicKey))}`;
  return kp.comment ? `${line} ${kp.comment}` : line;
}

/**
 * The unencrypted `openssh-key-v1` private key, PEM-armoured with 70-column
 * lines and a trailing newline, exactly as `ssh-keygen -t ed25519 -N ''` writes it.
 */
export function formatPrivateKey(kp: Ed25519KeyPair): string {
  const check = crypto.getRandomValues(new Uint8Array(4));
  let priv = concatBytes([
    check,
    check, // the two check ints must match; a wrong passphrase would break them
    sshString(KEY_TYPE),
    sshString(kp.publicKey),
    sshString(concatBytes([kp.seed, kp.publicKey])),
    sshString(kp.comment),
  ]);
  // Pad with 1, 2, 3, ... to the cipher block size (8 for "none").
  const pad = (8 - (priv.length % 8)) % 8;
  priv = concatBytes([priv, Uint8Array.from({ length: pad }, (_, i) => i + 1)]);
  const body = concatBytes([
    enc.encode("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    new Uint8Array([0, 0, 0, 1]),
    sshString(publicKeyBlob(kp.publicKey)),
    sshString(priv),
  ]);
  const b64 = base64(body);
  const lines = b64.match(/.{1,70}/g)!.join("\n");
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** Public key algorithms accepted in authorized_keys files we generate. */
export const PUBLIC_KEY_TYPES = [
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
];

/**
 * Validate one OpenSSH public key line (`type base64 [comment]`) and return it
 * trimmed. `origin` names the file for the diagnostic.
 */
export function parsePublicKeyLine(text: string, origin: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const fail = (why: string) =>
    new Diagnostic(
      "vmctl::sshkey::bad_public_key",
      `${origin} is not an OpenSSH public key: ${why}`,
      {
        hint:
          "pass the .pub file (one line like `ssh-ed25519 AAAA... user@host`), not the private key",
      },
    );
  if (text.includes("PRIVATE KEY")) throw fail("it looks like a private key");
  if (lines.length !== 1) throw fail(lines.length ? "it holds more than one line" : "it is empty");
  const line = lines[0];
  if (hasControl(line.replaceAll("	", " "))) throw fail("it holds control characters");
  const [type, data] = line.split(/[ \t]+/);
  if (!PUBLIC_KEY_TYPES.includes(type)) {
    throw fail(
      `unknown key type ${JSON.stringify(type)} (expected one of ${PUBLIC_KEY_TYPES.join(", ")})`,
    );
  }
  let blob: Uint8Array;
  try {
    if (!data || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw new Error();
    blob = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  } catch {
    throw fail("the key data is not base64");
  }
  const view = new DataView(blob.buffer);
  const n = blob.length >= 4 ? view.getUint32(0) : -1;
  if (n < 0 || 4 + n > blob.length || new TextDecoder().decode(blob.subarray(4, 4 + n)) !== type) {
    throw fail(`the key data does not encode a ${type} key`);
  }
  return line;
}
