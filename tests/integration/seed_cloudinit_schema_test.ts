/**
 * Generated cloud-config checked by cloud-init itself (`cloud-init schema`)
 * and parsed by PyYAML (what cloud-init loads it with): the values come back
 * exactly, whatever characters the key comment holds.
 */
import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { buildMetaData, buildUserData } from "../../lib/cloudinit/config.ts";
import { formatPrivateKey, formatPublicKey, generateEd25519 } from "../../lib/sshkey/mod.ts";

const dec = new TextDecoder();
const PY_TO_JSON =
  "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding='utf-8'))))";

async function run(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withFile(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-schema-" });
  try {
    const path = join(dir, "user-data");
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const COMMENTS = [
  "plain@host",
  'quote " and \\ backslash',
  "colon: hash # amp & star * bang ! pipe | gt >",
  "'single' {brace} [bracket] %percent @at `tick`",
  "ünïcödé €uro 漢字 😀",
  "- leading dash",
  "",
];

for (const comment of COMMENTS) {
  Deno.test(`generated user-data is valid for cloud-init with key comment ${JSON.stringify(comment)}`, async () => {
    const client = await generateEd25519(comment);
    const host = await generateEd25519("root@h");
    const key = formatPublicKey(client);
    const hostKey = { privatePem: formatPrivateKey(host), publicLine: formatPublicKey(host) };
    const text = buildUserData({
      user: "dev_user-1",
      hostname: "web-1.example.com",
      authorizedKey: key,
      hostKey,
    });
    await withFile(text, async (path) => {
      const schema = await run("cloud-init", ["schema", "-c", path]);
      assertEquals(schema.code, 0, schema.stdout + schema.stderr);
      assertStringIncludes(schema.stdout, "Valid cloud-config");
      const parsed = JSON.parse((await run("python3", ["-c", PY_TO_JSON, path])).stdout);
      assertEquals(parsed.users[0].ssh_authorized_keys, [key]);
      assertEquals(parsed.users[0].name, "dev_user-1");
      assertEquals(parsed.users[0].sudo, "ALL=(ALL) NOPASSWD:ALL");
      assertEquals(parsed.hostname, "web-1.example.com");
      assertEquals(parsed.manage_etc_hosts, true);
      assertEquals(parsed.ssh_pwauth, false);
      assertEquals(parsed.disable_root, true);
      assertEquals(parsed.ssh_keys.ed25519_private, hostKey.privatePem);
      assertEquals(parsed.ssh_keys.ed25519_public, hostKey.publicLine);
    });
  });
}

Deno.test("meta-data parses to instance-id and local-hostname", async () => {
  await withFile(buildMetaData({ instanceId: "iid-0f:a.b_c", hostname: "a.b" }), async (path) => {
    const parsed = JSON.parse((await run("python3", ["-c", PY_TO_JSON, path])).stdout);
    assertEquals(parsed, { "instance-id": "iid-0f:a.b_c", "local-hostname": "a.b" });
  });
});
