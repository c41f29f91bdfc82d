/**
 * The generated keys against real OpenSSH: ssh-keygen reads them, sshd
 * accepts the client key, and the client verifies the injected host key
 * with StrictHostKeyChecking=yes from the very first connection.
 */
import { userInfo } from "node:os";
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { readFiles } from "../helpers/iso_read.ts";
import { startSshd } from "../helpers/sshd.ts";
import { formatPrivateKey, formatPublicKey, generateEd25519 } from "../../lib/sshkey/mod.ts";
import { writeVmSeed } from "../../lib/cloudinit/vm_seed.ts";

const dec = new TextDecoder();

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-sshkey-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What cloud-init does with `ssh_keys.ed25519_private`: the PEM block of user-data. */
function hostKeyFromUserData(userData: string): string {
  const lines = userData.split("\n");
  const start = lines.indexOf("  ed25519_private: |") + 1;
  const body: string[] = [];
  for (let i = start; i < lines.length && lines[i].startsWith("    "); i++) {
    body.push(lines[i].slice(4));
  }
  return body.join("\n") + "\n";
}

function sshArgs(port: number, key: string, knownHosts: string, alias: string): string[] {
  return [
    "-F",
    "/dev/null",
    "-i",
    key,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    `HostKeyAlias=${alias}`,
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "ConnectTimeout=10",
    "-p",
    String(port),
    `${userInfo().username}@127.0.0.1`,
    "echo",
    "vmctl-login-ok",
  ];
}

Deno.test("ssh-keygen -y reproduces the public key line from the generated private key", async () => {
  await withTemp(async (dir) => {
    const kp = await generateEd25519("user@example");
    await Deno.writeTextFile(join(dir, "id"), formatPrivateKey(kp), { mode: 0o600 });
    const r = await run("ssh-keygen", ["-y", "-f", join(dir, "id")]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(r.stdout.trim(), formatPublicKey(kp));
  });
});

Deno.test("ssh-keygen -l accepts the public key file and reports an ED25519 key", async () => {
  await withTemp(async (dir) => {
    const kp = await generateEd25519("c");
    await Deno.writeTextFile(join(dir, "id.pub"), formatPublicKey(kp) + "\n");
    const r = await run("ssh-keygen", ["-l", "-f", join(dir, "id.pub")]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "(ED25519)");
  });
});

Deno.test("sshd accepts the VM's generated key and the client verifies the injected host key", async () => {
  await withTemp(async (dir) => {
    const work = join(dir, "vm");
    await Deno.mkdir(work, { mode: 0o700 });
    const seed = await writeVmSeed({
      workDir: work,
      vmName: "t1",
      instanceId: "iid-t",
      cloudInit: {},
      sshUser: "vm",
    });
    // Play cloud-init: take the host key and the authorised key from the seed.
    const userData = dec.decode(readFiles(await Deno.readFile(seed.seedIsoPath)).get("user-data")!);
    const hostKey = join(dir, "ssh_host_ed25519_key");
    await Deno.writeTextFile(hostKey, hostKeyFromUserData(userData), { mode: 0o600 });
    const authorized = join(dir, "authorized_keys");
    await Deno.copyFile(`${seed.generatedPrivateKey}.pub`, authorized);
    const sshd = await startSshd({ hostKeyPath: hostKey, authorizedKeysPath: authorized });
    try {
      const r = await run(
        "ssh",
        sshArgs(sshd.port, seed.generatedPrivateKey!, seed.knownHostsPath!, seed.hostKeyAlias!),
      );
      assertEquals(r.code, 0, `${r.stderr}\n${sshd.log()}`);
      assertEquals(r.stdout.trim(), "vmctl-login-ok");
    } finally {
      await sshd.stop();
    }
  });
});

Deno.test("the client refuses a server whose host key is not the injected one", async () => {
  await withTemp(async (dir) => {
    const work = join(dir, "vm");
    await Deno.mkdir(work, { mode: 0o700 });
    const seed = await writeVmSeed({
      workDir: work,
      vmName: "t2",
      instanceId: "iid-t",
      cloudInit: {},
      sshUser: "vm",
    });
    const otherHost = join(dir, "other_host_key");
    await Deno.writeTextFile(otherHost, formatPrivateKey(await generateEd25519()), { mode: 0o600 });
    const authorized = join(dir, "authorized_keys");
    await Deno.copyFile(`${seed.generatedPrivateKey}.pub`, authorized);
    const sshd = await startSshd({ hostKeyPath: otherHost, authorizedKeysPath: authorized });
    try {
      const r = await run(
        "ssh",
        sshArgs(sshd.port, seed.generatedPrivateKey!, seed.knownHostsPath!, seed.hostKeyAlias!),
      );
      assert(r.code !== 0);
      assertStringIncludes(r.stderr, "Host key verification failed");
    } finally {
      await sshd.stop();
    }
  });
});
