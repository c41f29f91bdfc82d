import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "../helpers/assert.ts";
import { readFiles } from "../helpers/iso_read.ts";
import { writeVmSeed } from "../../lib/cloudinit/vm_seed.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

const dec = new TextDecoder();
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIQK19erOib+rVtpuLxU/qZrbvCHJWkYJEcW8Uz/2lrH me@x";

async function withWorkDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-seed-" });
  await Deno.chmod(dir, 0o700);
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
const mode = async (p: string) => (await Deno.stat(p)).mode! & 0o777;
const seedFiles = async (dir: string) => {
  const files = readFiles(await Deno.readFile(`${dir}/seed.iso`));
  return Object.fromEntries([...files].map(([k, v]) => [k, dec.decode(v)]));
};
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("a cloud-init block without key or user-data generates a key pair, host key and seed", async () => {
  await withWorkDir(async (dir) => {
    const r = await writeVmSeed({
      workDir: dir,
      vmName: "web1",
      instanceId: "iid-a",
      cloudInit: {},
      sshUser: "vm",
    });
    assertEquals(r, {
      seedIsoPath: `${dir}/seed.iso`,
      generatedPrivateKey: `${dir}/id_ed25519_generated`,
      knownHostsPath: `${dir}/known_hosts`,
      hostKeyAlias: "vmctl-web1",
    });
    assertEquals(names(dir), [
      "id_ed25519_generated",
      "id_ed25519_generated.pub",
      "known_hosts",
      "seed.iso",
    ]);
    assertEquals(await mode(`${dir}/id_ed25519_generated`), 0o600);
    assertEquals(await mode(`${dir}/seed.iso`), 0o600);
    assertEquals(await mode(`${dir}/known_hosts`), 0o600);
    const known = await Deno.readTextFile(`${dir}/known_hosts`);
    assertMatch(known, /^vmctl-web1 ssh-ed25519 AAAA[A-Za-z0-9+/]+\n$/);
    const files = await seedFiles(dir);
    assertEquals(Object.keys(files).sort(), ["meta-data", "user-data"]);
    assertEquals(files["meta-data"], 'instance-id: "iid-a"\nlocal-hostname: "web1"\n');
    const pub = (await Deno.readTextFile(`${dir}/id_ed25519_generated.pub`)).trim();
    assertStringIncludes(files["user-data"], `      - "${pub}"\n`);
    const hostPub = known.trim().split(" ").slice(1).join(" ");
    assertStringIncludes(files["user-data"], `ed25519_public: "${hostPub} root@web1"`);
  });
});

Deno.test("an explicit ssh-key is authorised and the generated host key is still injected", async () => {
  await withWorkDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/my.pub`, KEY + "\n");
    const r = await writeVmSeed({
      workDir: dir,
      vmName: "a",
      instanceId: "iid-b",
      cloudInit: { sshKeyPath: `${dir}/my.pub`, hostname: "box.example.com" },
      sshUser: "ubuntu",
    });
    assertEquals(r.generatedPrivateKey, undefined);
    assertEquals(r.hostKeyAlias, "vmctl-a");
    assertEquals(names(dir), ["known_hosts", "my.pub", "seed.iso"]);
    const ud = (await seedFiles(dir))["user-data"];
    assertStringIncludes(ud, `      - "${KEY}"\n`);
    assertStringIncludes(ud, '  - name: "ubuntu"\n');
    assertStringIncludes(ud, "ed25519_private: |");
    assertStringIncludes((await seedFiles(dir))["meta-data"], 'local-hostname: "box.example.com"');
  });
});

Deno.test("raw user-data is passed through unchanged and no key is injected", async () => {
  await withWorkDir(async (dir) => {
    const raw = "#!/bin/sh\necho 'hi: there' # not YAML\n";
    await Deno.writeTextFile(`${dir}/ud`, raw);
    await Deno.writeTextFile(`${dir}/net`, "version: 2\nethernets: {}\n");
    await Deno.writeTextFile(`${dir}/vendor`, "");
    const r = await writeVmSeed({
      workDir: dir,
      vmName: "a",
      instanceId: "iid-c",
      cloudInit: {
        userDataPath: `${dir}/ud`,
        networkConfigPath: `${dir}/net`,
        vendorDataPath: `${dir}/vendor`,
      },
      sshUser: "vm",
    });
    assertEquals(r, { seedIsoPath: `${dir}/seed.iso` });
    const files = await seedFiles(dir);
    assertEquals(files["user-data"], raw);
    assertEquals(files["network-config"], "version: 2\nethernets: {}\n");
    assertEquals(files["vendor-data"], "");
    assert(!names(dir).includes("known_hosts"));
  });
});

Deno.test("a second seed for the same VM reuses the generated key pair and changes the host key", async () => {
  await withWorkDir(async (dir) => {
    const o = { workDir: dir, vmName: "a", cloudInit: {}, sshUser: "vm" };
    await writeVmSeed({ ...o, instanceId: "iid-1" });
    const key1 = await Deno.readTextFile(`${dir}/id_ed25519_generated`);
    const known1 = await Deno.readTextFile(`${dir}/known_hosts`);
    const r = await writeVmSeed({ ...o, instanceId: "iid-2" });
    assertEquals(r.generatedPrivateKey, `${dir}/id_ed25519_generated`);
    assertEquals(await Deno.readTextFile(`${dir}/id_ed25519_generated`), key1);
    assert(known1 !== (await Deno.readTextFile(`${dir}/known_hosts`)));
    assertStringIncludes((await seedFiles(dir))["meta-data"], '"iid-2"');
  });
});

Deno.test("a missing ssh-key file fails before anything is written", async () => {
  await withWorkDir(async (dir) => {
    const err = await assertRejects(
      () =>
        writeVmSeed({
          workDir: dir,
          vmName: "a",
          instanceId: "i",
          cloudInit: { sshKeyPath: `${dir}/nope.pub` },
          sshUser: "vm",
        }),
      Diagnostic,
    );
    assertEquals((err as Diagnostic).code, "vmctl::sshkey::not_found");
    assertEquals(names(dir), []);
  });
});

Deno.test("bad hostname, user or VM name are refused before anything is written", async () => {
  await withWorkDir(async (dir) => {
    const base = { workDir: dir, vmName: "a", instanceId: "i", cloudInit: {}, sshUser: "vm" };
    const cases: [Partial<typeof base> & { cloudInit?: object }, string][] = [
      [{ cloudInit: { hostname: "bad_host" } }, "vmctl::cloudinit::bad_hostname"],
      [{ sshUser: "root" }, "vmctl::cloudinit::bad_user"],
      [{ vmName: "../x" }, "vmctl::name::invalid"],
      [{ instanceId: "a/b" }, "vmctl::cloudinit::bad_instance_id"],
    ];
    for (const [change, code] of cases) {
      const err = await assertRejects(() => writeVmSeed({ ...base, ...change }), Diagnostic);
      assertEquals((err as Diagnostic).code, code);
    }
    assertEquals(names(dir), []);
  });
});

Deno.test("when writing the seed fails, the key pair generated by the call is removed again", async () => {
  await withWorkDir(async (dir) => {
    await Deno.mkdir(`${dir}/seed.iso/blocker`, { recursive: true }); // rename onto a non-empty dir fails
    const err = await assertRejects(
      () =>
        writeVmSeed({ workDir: dir, vmName: "a", instanceId: "i", cloudInit: {}, sshUser: "vm" }),
      Diagnostic,
    );
    assertEquals((err as Diagnostic).code, "vmctl::iso::write_failed");
    assertEquals(names(dir), ["seed.iso"]);
    assertEquals(names(`${dir}/seed.iso`), ["blocker"]);
  });
});

Deno.test("a hostname equal to a VM name that is no valid host name becomes a valid one", async () => {
  await withWorkDir(async (dir) => {
    await writeVmSeed({
      workDir: dir,
      vmName: "my_vm",
      instanceId: "i",
      cloudInit: { hostname: "my_vm" },
      sshUser: "vm",
    });
    assertStringIncludes((await seedFiles(dir))["meta-data"], 'local-hostname: "my-vm"');
  });
});

Deno.test("half a generated key pair in the work dir is refused, not overwritten", async () => {
  await withWorkDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/id_ed25519_generated`, "precious");
    const err = await assertRejects(
      () =>
        writeVmSeed({ workDir: dir, vmName: "a", instanceId: "i", cloudInit: {}, sshUser: "vm" }),
      Diagnostic,
    );
    assertEquals((err as Diagnostic).code, "vmctl::sshkey::incomplete_pair");
    assertEquals(await Deno.readTextFile(`${dir}/id_ed25519_generated`), "precious");
    assertEquals(names(dir), ["id_ed25519_generated"]);
  });
});
