/**
 * Creating and destroying Propolis VMs through the CLI against the fake
 * illumos host: what a create leaves on the host (zone, VNICs, volumes,
 * ledger), that a failure at any step leaves nothing, that concurrent creates
 * never share an address, and that destroy removes everything again.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { propolisWorld } from "./propolis_harness.ts";
import { spawnVmctl } from "../helpers/vmctl_cli.ts";

/** Subcommands of the fake tools that change the host. */
const MUTATING = new Set([
  "create",
  "destroy",
  "clone",
  "set",
  "snapshot",
  "create-vnic",
  "delete-vnic",
  "install",
  "uninstall",
  "boot",
  "halt",
]);

const create = (image: string, name: string, ...extra: string[]) => [
  "create",
  "--name",
  name,
  "--image",
  image,
  "--network",
  "vnic",
  "--pool",
  "guests",
  ...extra,
];

Deno.test("a Propolis create makes the VM's zone, links and disk and reserves its addresses", async () => {
  const w = await propolisWorld();
  try {
    await w.ok(create(w.image, "web", "--disk", "1"));
    const entry = await Deno.readTextFile(join(w.t.root, "zones", "vmctl-web.kdl"));
    assertStringIncludes(entry, `address "${w.vmNet}.2/24"`);
    assertStringIncludes(entry, `address "${w.guestNet}.2/24"`);
    assertStringIncludes(entry, 'vm "web"');
    assertStringIncludes(entry, 'status "active"');
    assertEquals(await w.leftovers(), [
      "dataset rpool/vmctl/vms/web",
      "dataset rpool/zones/vmctl-web",
      "registry vmctl-web.kdl",
      "store entry web",
      "vnic vmctl_web0",
      "vnic web_g0",
      "work dir web",
      "zone vmctl-web",
    ]);
    const size = await w.t.fake.run("zfs", [
      "get",
      "-H",
      "-p",
      "-o",
      "value",
      "volsize",
      "rpool/vmctl/vms/web",
    ]);
    assertEquals(size.stdout.trim(), String(1024 ** 3));
    const cfg = await w.t.fake.run("zonecfg", ["-z", "vmctl-web", "info"]);
    assertStringIncludes(cfg.stdout, "match: /dev/zvol/rdsk/rpool/vmctl/vms/web");
    assertStringIncludes(cfg.stdout, `allowed-address: ${w.vmNet}.2/24`);
    const manifest = await w.t.fake.zoneFile(
      "vmctl-web",
      "/var/svc/manifest/site/vmctl-propolis.xml",
    );
    assertStringIncludes(manifest ?? "", `${w.vmNet}.2:12400`);
    const seed = await Deno.stat(join(w.t.fake.fsRoot, "zones/vmctl-web/root/var/vmctl/seed.iso"));
    assertEquals(seed.mode! & 0o777, 0o600);
  } finally {
    await w.cleanup();
  }
});

Deno.test("a failed Propolis create leaves nothing behind, whichever step fails", async () => {
  const w = await propolisWorld();
  try {
    for (
      const fault of [
        "zfs:create",
        "zfs:clone",
        "zfs:set",
        "dladm:create-vnic",
        "zonecfg:commit",
        "zoneadm:install",
      ]
    ) {
      const r = await w.run(create(w.image, "web", "--disk", "1"), { FAKE_ILLUMOS_FAIL: fault });
      assert(r.code !== 0, `${fault}: the create should fail`);
      assertEquals(await w.leftovers(), [], `${fault} left something`);
    }
  } finally {
    await w.cleanup();
  }
});

Deno.test("concurrent Propolis creates get distinct addresses", async () => {
  const w = await propolisWorld();
  try {
    const names = Array.from({ length: 20 }, (_, i) => `vm${i}`);
    await Promise.all(names.map((n) => w.ok(create(w.image, n))));
    const addresses: string[] = [];
    for (const n of names) {
      const entry = await Deno.readTextFile(join(w.t.root, "zones", `vmctl-${n}.kdl`));
      addresses.push(...[...entry.matchAll(/address "([^"]+)"/g)].map((m) => m[1]));
    }
    assertEquals(addresses.length, 40);
    assertEquals(new Set(addresses).size, 40);
  } finally {
    await w.cleanup();
  }
});

Deno.test("destroying a Propolis VM removes its zone, links, disk, entry and files", async () => {
  const w = await propolisWorld();
  try {
    await w.ok(create(w.image, "web"));
    await w.ok(["destroy", "web"]);
    assertEquals(await w.leftovers(), []);
  } finally {
    await w.cleanup();
  }
});

Deno.test("zmgr refuses to destroy or halt the zone of a Propolis VM", async () => {
  const w = await propolisWorld();
  try {
    await w.ok(create(w.image, "web"));
    for (const args of [["destroy", "vmctl-web"], ["halt", "vmctl-web"]]) {
      const r = await w.t.zone(args);
      assertEquals(r.code, 1);
      assertStringIncludes(r.stderr, "zmgr::zone::vm_zone");
      assertStringIncludes(r.stderr, "vmctl destroy web");
    }
  } finally {
    await w.cleanup();
  }
});

Deno.test("a Propolis create dry run prints each command and changes nothing", async () => {
  const w = await propolisWorld();
  try {
    const out = await w.ok([...create(w.image, "web"), "--dry-run"]);
    assertMatch(
      out,
      /zfs clone 'rpool\/vmctl\/images\/<sha256 of the image>@base' rpool\/vmctl\/vms\/web/,
    );
    assertStringIncludes(out, "$ zonecfg -z vmctl-web -f - <<'EOF'");
    assertStringIncludes(out, "set match=/dev/viona");
    assertStringIncludes(
      out,
      `exec='/opt/vmctl/propolis/propolis-server run /opt/vmctl/bootrom/OVMF_CODE.fd ${w.vmNet}.2:12400'`,
    );
    assertEquals(await w.leftovers(), []);
    const changes = (await w.t.fake.calls()).filter((c) =>
      c.argv.some((a) => MUTATING.has(a)) || (c.tool === "zonecfg" && c.argv.includes("-f"))
    );
    assertEquals(changes, []);
  } finally {
    await w.cleanup();
  }
});

Deno.test("a Propolis VM refuses user networking with a hint", async () => {
  const w = await propolisWorld();
  try {
    const r = await w.run(["create", "--name", "web", "--image", w.image]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::propolis::network");
    assertEquals(await w.leftovers(), []);
  } finally {
    await w.cleanup();
  }
});

Deno.test("an interrupted Propolis create is undone and leaves nothing behind", async () => {
  const w = await propolisWorld();
  try {
    const child = spawnVmctl(w.home, create(w.image, "web"), {
      ...w.env,
      FAKE_ILLUMOS_DELAY_MS: "4000",
    });
    for (let i = 0; i < 300; i++) {
      const r = await w.t.fake.run("zoneadm", ["list", "-cp"]);
      if (r.stdout.includes(":vmctl-web:incomplete:")) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.kill("SIGINT");
    const out = await child.output();
    assertEquals(out.code, 130, new TextDecoder().decode(out.stderr));
    assertEquals(await w.leftovers(), []);
  } finally {
    await w.cleanup();
  }
});
