/**
 * SSH keys without ssh-keygen: Ed25519 generation (WebCrypto), OpenSSH
 * formats, validation of user-supplied public keys, and safe writing.
 *
 * @module
 */
export {
  base64,
  type Ed25519KeyPair,
  formatPrivateKey,
  formatPublicKey,
  generateEd25519,
  parsePublicKeyLine,
  PUBLIC_KEY_TYPES,
} from "./ed25519.ts";
export { readPublicKeyFile, writeKeyPair } from "./files.ts";
