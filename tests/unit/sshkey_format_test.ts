import { assert, assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import {
  formatPrivateKey,
  formatPublicKey,
  generateEd25519,
  parsePublicKeyLine,
  writeKeyPair,
} from "../../lib/sshkey/mod.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

function sshStrings(bytes: Uint8Array): { strings: Uint8Array[]; rest: Uint8Array } {
  const strings: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  while (p + 4 <= bytes.length) {
    const n = view.getUint32(p);
    if (p + 4 + n > bytes.length) break;
    strings.push(bytes.subarray(p + 4, p + 4 + n));
    p += 4 + n;
  }
  return { strings, rest: bytes.subarray(p) };
}
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

Deno.test("a generated public key is one `ssh-ed25519 AAAA... comment` line with a 32-byte key", async () => {
  const kp = await generateEd25519("me@host");
  const line = formatPublicKey(kp);
  assertMatch(line, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} me@host$/);
  const { strings } = sshStrings(unb64(line.split(" ")[1]));
  assertEquals(text(strings[0]), "ssh-ed25519");
  assertEquals(strings[1], kp.publicKey);
});

Deno.test("the private key is an unencrypted openssh-key-v1 PEM holding seed and public key", async () => {
  const kp = await generateEd25519("c");
  const pem = formatPrivateKey(kp);
  const lines = pem.trimEnd().split("\n");
  assertEquals(lines[0], "-----BEGIN OPENSSH PRIVATE KEY-----");
  assertEquals(lines.at(-1), "-----END OPENSSH PRIVATE KEY-----");
  assert(lines.slice(1, -1).every((l) => l.length <= 70));
  const body = unb64(lines.slice(1, -1).join(""));
  assertEquals(text(body.subarray(0, 15)), "openssh-key-v1\0");
  const outer = sshStrings(body.subarray(15, 15 + 4 + 4 + 4 + 4 + 4));
  assertEquals(outer.strings.map(text), ["none", "none", ""]);
  const after = body.subarray(15 + 4 + 4 + 4 + 4 + 4 + 4); // + nkeys
  const { strings } = sshStrings(after);
  const priv = strings[1];
  assertEquals(priv.length % 8, 0);
  assertEquals(priv.subarray(0, 4), priv.subarray(4, 8));
  const inner = sshStrings(priv.subarray(8));
  assertEquals(text(inner.strings[0]), "ssh-ed25519");
  assertEquals(inner.strings[1], kp.publicKey);
  assertEquals(inner.strings[2].subarray(0, 32), kp.seed);
  assertEquals(inner.strings[2].subarray(32), kp.publicKey);
  assertEquals(text(inner.strings[3]), "c");
  assertEquals([...inner.rest], Array.from({ length: inner.rest.length }, (_, i) => i + 1));
});

Deno.test("two generated keys differ", async () => {
  const [a, b] = [await generateEd25519(), await generateEd25519()];
  assert(formatPublicKey(a) !== formatPublicKey(b));
});

Deno.test("key files are created 0600 (private) and 0644 (public)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const kp = await generateEd25519("x");
    const pub = await writeKeyPair(`${dir}/id`, kp);
    assertEquals((await Deno.stat(`${dir}/id`)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(`${dir}/id.pub`)).mode! & 0o777, 0o644);
    assertEquals(await Deno.readTextFile(`${dir}/id.pub`), pub + "\n");
    assertEquals([...Deno.readDirSync(dir)].length, 2); // no temp files left
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a valid public key line is accepted and trimmed", () => {
  const line =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIQK19erOib+rVtpuLxU/qZrbvCHJWkYJEcW8Uz/2lrH a b";
  assertEquals(parsePublicKeyLine(`\n${line}  \n`, "k.pub"), line);
});

Deno.test("private keys, junk, several keys and mismatched blobs are refused as public keys", () => {
  const ed = "AAAAC3NzaC1lZDI1NTE5AAAAIIQK19erOib+rVtpuLxU/qZrbvCHJWkYJEcW8Uz/2lrH";
  for (
    const bad of [
      "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n",
      "",
      "hello world",
      `ssh-ed25519 ${ed}\nssh-ed25519 ${ed}`,
      `ssh-rsa ${ed}`,
      "ssh-ed25519 not*base64",
      `ssh-ed25519 ${ed} bell\x07`,
    ]
  ) {
    const err = assertThrows(() => parsePublicKeyLine(bad, "k.pub"), Diagnostic);
    assertEquals(err.code, "vmctl::sshkey::bad_public_key");
  }
});
