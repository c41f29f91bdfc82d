/**
 * The VM lifecycle uses the seed modules: `vmctl create` on the noop backend
 * writes the generated key pair, known_hosts and seed.iso into the work dir.
 */
import { join } from "node:path";
import { assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { readFiles } from "../helpers/iso_read.ts";
import { fakeImage, tempHome, vmctl } from "../helpers/vmctl_cli.ts";

const dec = new TextDecoder();

Deno.test("vmctl create with cloud-init writes keys, known_hosts and a 0600 seed.iso in the work dir", async () => {
  const home = await tempHome();
  try {
    const image = await fakeImage(home);
    const r = await vmctl(home, ["create", "--name", "web_1", "--image", image]);
    assertEquals(r.code, 0, r.stderr);
    const work = join(home, "vmctl", "vms", "web_1");
    const names = [...Deno.readDirSync(work)].map((e) => e.name);
    for (
      const n of ["id_ed25519_generated", "id_ed25519_generated.pub", "known_hosts", "seed.iso"]
    ) {
      assertEquals(names.includes(n), true, `${n} missing in ${names}`);
    }
    assertEquals((await Deno.stat(join(work, "seed.iso"))).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(join(work, "id_ed25519_generated"))).mode! & 0o777, 0o600);
    assertMatch(
      await Deno.readTextFile(join(work, "known_hosts")),
      /^vmctl-web_1 ssh-ed25519 AAAA\S+\n$/,
    );
    const files = readFiles(await Deno.readFile(join(work, "seed.iso")));
    assertStringIncludes(dec.decode(files.get("meta-data")!), 'local-hostname: "web-1"');
    const pub = (await Deno.readTextFile(join(work, "id_ed25519_generated.pub"))).trim();
    assertStringIncludes(dec.decode(files.get("user-data")!), `- "${pub}"`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
