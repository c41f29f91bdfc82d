/**
 * `vmctl seed` as a user runs it: the real main.ts in a child process.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { readFiles } from "../helpers/iso_read.ts";
import { tempHome, vmctl } from "../helpers/vmctl_cli.ts";

const dec = new TextDecoder();

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
const isoFiles = async (path: string) =>
  Object.fromEntries([...readFiles(await Deno.readFile(path))].map(([k, v]) => [k, dec.decode(v)]));

Deno.test("vmctl seed with no inputs generates a key pair, host key and seed next to OUTPUT", async () => {
  await withHome(async (home) => {
    const r = await vmctl(home, ["seed", "web1.iso"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(names(home), ["web1.iso", "web1.known_hosts", "web1_ed25519", "web1_ed25519.pub"]);
    assertStringIncludes(r.stdout, `wrote ${join(home, "web1.iso")} (28 sectors`);
    assertStringIncludes(r.stdout, "generated SSH key pair");
    assertStringIncludes(r.stdout, "-o HostKeyAlias=vmctl-web1");
    assertEquals((await Deno.stat(join(home, "web1.iso"))).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(join(home, "web1_ed25519"))).mode! & 0o777, 0o600);
    const files = await isoFiles(join(home, "web1.iso"));
    assertMatch(files["meta-data"], /^instance-id: "iid-[0-9a-f-]{36}"\nlocal-hostname: "web1"\n$/);
    const pub = (await Deno.readTextFile(join(home, "web1_ed25519.pub"))).trim();
    assertStringIncludes(files["user-data"], `- "${pub}"`);
    assertMatch(
      await Deno.readTextFile(join(home, "web1.known_hosts")),
      /^vmctl-web1 ssh-ed25519 AAAA\S+\n$/,
    );
  });
});

Deno.test("running vmctl seed again reuses the key pair and writes a new instance-id", async () => {
  await withHome(async (home) => {
    await vmctl(home, ["seed", "s.iso"]);
    const key = await Deno.readTextFile(join(home, "s_ed25519"));
    const first = (await isoFiles(join(home, "s.iso")))["meta-data"];
    const r = await vmctl(home, ["seed", "s.iso"]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "reused SSH key pair");
    assertEquals(await Deno.readTextFile(join(home, "s_ed25519")), key);
    assert(first !== (await isoFiles(join(home, "s.iso")))["meta-data"]);
  });
});

Deno.test("raw files are packed unchanged and SOURCE_DATE_EPOCH makes the ISO reproducible", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(join(home, "ud"), "#cloud-config\nruncmd: [true]\n");
    await Deno.writeTextFile(join(home, "md"), "instance-id: x\n");
    await Deno.writeTextFile(join(home, "nc"), "version: 2\n");
    const args = ["--user-data", "ud", "--meta-data", "md", "--network-config", "nc"];
    const env = { SOURCE_DATE_EPOCH: "1700000000" };
    assertEquals((await vmctl(home, ["seed", "a.iso", ...args], { env })).code, 0);
    assertEquals((await vmctl(home, ["seed", "b.iso", ...args], { env })).code, 0);
    assertEquals(
      await Deno.readFile(join(home, "a.iso")),
      await Deno.readFile(join(home, "b.iso")),
    );
    assertEquals(await isoFiles(join(home, "a.iso")), {
      "meta-data": "instance-id: x\n",
      "network-config": "version: 2\n",
      "user-data": "#cloud-config\nruncmd: [true]\n",
    });
    assertEquals(names(home).filter((n) => n.includes("ed25519") || n.includes("known_hosts")), []);
  });
});

Deno.test("--ssh-key authorises that key and writes no key pair", async () => {
  await withHome(async (home) => {
    const pub =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIQK19erOib+rVtpuLxU/qZrbvCHJWkYJEcW8Uz/2lrH me@x";
    await Deno.writeTextFile(join(home, "me.pub"), pub + "\n");
    const r = await vmctl(home, [
      "seed",
      "--ssh-key",
      "me.pub",
      "--user",
      "alice",
      "--hostname",
      "box",
      "o.iso",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(names(home), ["me.pub", "o.iso", "o.known_hosts"]);
    const ud = (await isoFiles(join(home, "o.iso")))["user-data"];
    assertStringIncludes(ud, `- "${pub}"`);
    assertStringIncludes(ud, '- name: "alice"');
  });
});

Deno.test("--add puts a directory's files into the image", async () => {
  await withHome(async (home) => {
    await Deno.mkdir(join(home, "extra/sub"), { recursive: true });
    await Deno.writeTextFile(join(home, "extra/sub/file.txt"), "data");
    await Deno.writeTextFile(join(home, "ud"), "#cloud-config\n");
    const r = await vmctl(home, ["seed", "--user-data", "ud", "--add", "extra", "x.iso"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals((await isoFiles(join(home, "x.iso")))["sub/file.txt"], "data");
  });
});

Deno.test("conflicting options are a usage error (exit 2) and write nothing", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(join(home, "ud"), "#cloud-config\n");
    const r = await vmctl(home, ["seed", "--user-data", "ud", "--user", "bob", "o.iso"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "vmctl::seed::conflicting_options");
    assertEquals(names(home), ["ud"]);
  });
});

Deno.test("a missing input file, a bad hostname or a directory as OUTPUT fail with a diagnostic", async () => {
  await withHome(async (home) => {
    await Deno.mkdir(join(home, "outdir"));
    await Deno.writeTextFile(join(home, "ud"), "#cloud-config\n");
    const cases: [string[], string][] = [
      [["seed", "--user-data", "nope", "o.iso"], "vmctl::cloudinit::file_not_found"],
      [["seed", "--hostname", "bad_name", "o.iso"], "vmctl::cloudinit::bad_hostname"],
      [["seed", "--user", "root", "o.iso"], "vmctl::cloudinit::bad_user"],
      [["seed", "outdir"], "vmctl::seed::output_is_directory"],
      [["seed", "--user-data", "ud", "--add", "ud", "o.iso"], "vmctl::iso::not_a_directory"],
      [["seed", "missing-dir/o.iso"], "vmctl::"],
    ];
    for (const [args, code] of cases) {
      const r = await vmctl(home, args);
      assert(r.code !== 0, args.join(" "));
      assertStringIncludes(r.stderr, code);
      assertStringIncludes(r.stderr, "hint:");
    }
    assertEquals(names(home), ["outdir", "ud"]);
  });
});
