/**
 * Seeds read by independent implementations: isoinfo (cdrkit), bsdtar
 * (libarchive), blkid (util-linux, what cloud-init's ds-identify uses) and
 * xorriso (libisofs). Each must see the label and the exact names and bytes.
 */
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { writeSeedIso } from "../../lib/cloudinit/seed.ts";
import { type IsoEntry, planIso, writeIsoFile } from "../../lib/iso9660/mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; stdout: Uint8Array; text: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LANG: "C.UTF-8", LC_ALL: "C.UTF-8" },
  }).output();
  return {
    code: out.code,
    stdout: out.stdout,
    text: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

const USER_DATA = enc.encode("#cloud-config\nusers: []\n" + "x".repeat(3000) + "\n");
const META_DATA = enc.encode('instance-id: "iid-1"\nlocal-hostname: "h"\n');
const NETWORK = enc.encode("version: 2\nethernets:\n  eth0:\n    dhcp4: true\n");

async function withSeed(fn: (iso: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-isotools-" });
  try {
    const iso = join(dir, "seed.iso");
    await writeSeedIso(iso, {
      userData: USER_DATA,
      metaData: META_DATA,
      networkConfig: NETWORK,
      vendorData: new Uint8Array(0),
    });
    await fn(iso, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const NAMES = ["/meta-data", "/network-config", "/user-data", "/vendor-data"];

Deno.test("isoinfo -d sees label cidata, Joliet level 3, Rock Ridge and the true volume size", async () => {
  await withSeed(async (iso) => {
    const r = await run("isoinfo", ["-d", "-i", iso]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.text, /^Volume id: cidata$/m);
    assertMatch(r.text, /Joliet with UCS level 3 found/);
    assertMatch(r.text, /Rock Ridge signatures version 1 found/);
    const sectors = Number(r.text.match(/^Volume size is: (\d+)$/m)![1]);
    assertEquals(sectors * 2048, (await Deno.stat(iso)).size);
  });
});

Deno.test("isoinfo lists the exact names through Rock Ridge and through Joliet", async () => {
  await withSeed(async (iso) => {
    for (const tree of ["-R", "-J"]) {
      const r = await run("isoinfo", ["-f", tree, "-i", iso]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.text.trim().split("\n").sort(), NAMES);
    }
  });
});

Deno.test("isoinfo -x extracts byte-identical contents from all three trees", async () => {
  await withSeed(async (iso) => {
    for (
      const args of [["-R", "-x", "/user-data"], ["-J", "-x", "/user-data"], ["-x", "/USER_DAT.;1"]]
    ) {
      const r = await run("isoinfo", ["-i", iso, ...args]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout, USER_DATA);
    }
    assertEquals(
      (await run("isoinfo", ["-i", iso, "-R", "-x", "/network-config"])).stdout,
      NETWORK,
    );
  });
});

Deno.test("bsdtar lists every name and extracts the contents", async () => {
  await withSeed(async (iso) => {
    const r = await run("bsdtar", ["-tf", iso]);
    assertEquals(r.code, 0, r.stderr);
    // bsdtar exits 0 even on images it cannot read, so the names are the assertion.
    assertEquals(
      r.text.trim().split("\n").filter((n) => n !== ".").sort(),
      NAMES.map((n) => n.slice(1)),
    );
    assertEquals((await run("bsdtar", ["-xOf", iso, "meta-data"])).stdout, META_DATA);
    const joliet = await run("bsdtar", ["-tf", iso, "--options", "!rockridge"]);
    assertStringIncludes(joliet.text, "network-config");
  });
});

Deno.test("blkid -p reports LABEL=cidata TYPE=iso9660, as cloud-init's ds-identify needs", async () => {
  await withSeed(async (iso) => {
    const r = await run("blkid", ["-p", "-o", "export", iso]);
    assertEquals(r.code, 0, r.stderr);
    assertMatch(r.text, /^LABEL=cidata$/m);
    assertMatch(r.text, /^TYPE=iso9660$/m);
    assertMatch(r.text, /^VERSION=Joliet\\ Extension$/m);
  });
});

Deno.test("xorriso loads the image, checks the label and lists the Rock Ridge names", async () => {
  await withSeed(async (iso) => {
    const r = await run("xorriso", [
      "-abort_on",
      "FAILURE",
      "-assert_volid",
      "cidata",
      "FATAL",
      "-indev",
      iso,
      "-find",
      "/",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const names = r.text.trim().split("\n").map((l) => l.replace(/^'|'$/g, "")).filter((n) =>
      n !== "/"
    );
    assertEquals(names.sort(), NAMES);
    assert(!/SORRY|FAILURE/.test(r.stderr), r.stderr);
  });
});

Deno.test("our seed lists the same as genisoimage's and is far smaller", async () => {
  await withSeed(async (_iso, dir) => {
    for (const [n, b] of [["user-data", USER_DATA], ["meta-data", META_DATA]] as const) {
      await Deno.writeFile(join(dir, n), b);
    }
    const theirs = join(dir, "genisoimage.iso");
    const g = await run("genisoimage", [
      "-quiet",
      "-output",
      theirs,
      "-volid",
      "cidata",
      "-joliet",
      "-rock",
      join(dir, "user-data"),
      join(dir, "meta-data"),
    ]);
    assertEquals(g.code, 0, g.stderr);
    const ours = join(dir, "ours.iso");
    await writeSeedIso(ours, { userData: USER_DATA, metaData: META_DATA });
    for (const tree of ["-R", "-J"]) {
      const a = (await run("isoinfo", ["-f", tree, "-i", ours])).text.split("\n").sort();
      const b = (await run("isoinfo", ["-f", tree, "-i", theirs])).text.split("\n").sort();
      assertEquals(a, b);
    }
    const oursSize = (await Deno.stat(ours)).size / 2048;
    const theirsSize = (await Deno.stat(theirs)).size / 2048;
    assert(oursSize * 4 <= theirsSize, `${oursSize} sectors vs genisoimage ${theirsSize}`);
  });
});

Deno.test("a nested tree with long and non-ASCII names reads back in every tool", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-isotools-" });
  try {
    const entries: IsoEntry[] = [
      { path: "docs/Read Me.txt", data: enc.encode("hello") },
      { path: "docs/ünïcödé/€uro-" + "€".repeat(50), data: enc.encode("euro") },
      { path: "a/b/c/d/e/f/g/deep.bin", data: new Uint8Array(70000).fill(7) },
      { path: "empty-dir", directory: true },
    ];
    const iso = join(dir, "t.iso");
    await writeIsoFile(await planIso(entries, { volumeId: "TEST_1" }), iso);
    const want = [
      "a/b/c/d/e/f/g/deep.bin",
      "docs/Read Me.txt",
      "docs/ünïcödé/€uro-" + "€".repeat(50),
    ];
    const rr = (await run("isoinfo", ["-f", "-R", "-i", iso])).text.trim().split("\n");
    for (const p of want) assert(rr.includes("/" + p), `isoinfo -R misses ${p}`);
    assert(rr.includes("/empty-dir"));
    // isoinfo cannot print Joliet names as UTF-8; libarchive and libisofs can.
    const jol = (await run("isoinfo", ["-f", "-J", "-i", iso])).text.trim().split("\n");
    for (const p of want.slice(0, 2)) assert(jol.includes("/" + p), `isoinfo -J misses ${p}`);
    const tarJ = (await run("bsdtar", ["-tf", iso, "--options", "!rockridge"])).text.trim().split(
      "\n",
    );
    for (const p of want) assert(tarJ.includes(p), `bsdtar (Joliet) misses ${p}`);
    const xJ = await run("xorriso", [
      "-read_fs",
      "norock",
      "-indev",
      iso,
      "-find",
      "/",
      "-type",
      "f",
    ]);
    for (const p of want) assertStringIncludes(xJ.text, `'/${p}'`);
    const tar = (await run("bsdtar", ["-tf", iso])).text.trim().split("\n");
    for (const p of want) assert(tar.includes(p), `bsdtar misses ${p}`);
    const x = await run("xorriso", [
      "-abort_on",
      "FAILURE",
      "-indev",
      iso,
      "-find",
      "/",
      "-type",
      "f",
    ]);
    assertEquals(x.code, 0, x.stderr);
    for (const p of want) assertStringIncludes(x.text, `'/${p}'`);
    assertEquals(
      (await run("bsdtar", ["-xOf", iso, "a/b/c/d/e/f/g/deep.bin"])).stdout,
      new Uint8Array(70000).fill(7),
    );
    assertMatch((await run("blkid", ["-p", "-o", "export", iso])).text, /^LABEL=TEST_1$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
