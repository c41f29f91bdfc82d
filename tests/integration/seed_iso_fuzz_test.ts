/**
 * Fuzzing the ISO writer: random file sets (names, sizes 0..5 MB, nesting)
 * from a seeded PRNG, each image read back by isoinfo (Rock Ridge and Joliet
 * names, contents) and bsdtar (names and a full extraction compared byte for
 * byte). Bounded so it runs in a few seconds; the seed is printed on failure.
 * Every other image is built in one step, as `vmctl seed` does.
 */
import { join } from "node:path";
import { assertEquals } from "../helpers/assert.ts";
import { mulberry32 } from "../helpers/prng.ts";
import { buildIsoFile, type IsoEntry, planIso, writeIsoFile } from "../../lib/iso9660/mod.ts";

const dec = new TextDecoder();

const ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+=,@ ";
const EXTRA = "éüß€漢";

function randomName(rnd: () => number): string {
  for (;;) {
    const len = 1 + Math.floor(rnd() < 0.2 ? rnd() * 64 : rnd() * 16);
    let s = "";
    for (let i = 0; i < len; i++) {
      s += rnd() < 0.05
        ? EXTRA[Math.floor(rnd() * EXTRA.length)]
        : ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    }
    // Keep names every extractor can create on this host unchanged.
    if (s !== "." && s !== ".." && !/^[ .]|[ .]$/.test(s)) return s;
  }
}

function randomBytes(rnd: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = rnd() * 4294967296;
  for (let i = words.length * 4; i < n; i++) out[i] = rnd() * 256;
  return out;
}

function randomTree(
  rnd: () => number,
): { entries: IsoEntry[]; files: Map<string, Uint8Array>; dirs: Set<string> } {
  const files = new Map<string, Uint8Array>();
  const dirs = new Set<string>();
  const dirPool = [""];
  const count = 1 + Math.floor(rnd() * 25);
  let budget = 8 << 20;
  for (let i = 0; i < count; i++) {
    let parent = dirPool[Math.floor(rnd() * dirPool.length)];
    if (rnd() < 0.3 && parent.split("/").length < 5) {
      const d = parent ? `${parent}/${randomName(rnd)}` : randomName(rnd);
      if (files.has(d)) continue;
      dirs.add(d);
      dirPool.push(d);
      parent = d;
    }
    const path = parent ? `${parent}/${randomName(rnd)}` : randomName(rnd);
    if (files.has(path) || dirs.has(path)) continue;
    const r = rnd();
    const size = r < 0.1
      ? 0
      : r < 0.85
      ? Math.floor(rnd() * 5000)
      : Math.floor(rnd() * Math.min(5 << 20, Math.max(0, budget)));
    budget -= size;
    files.set(path, randomBytes(rnd, size));
  }
  const entries: IsoEntry[] = [...files].map(([path, data]) => ({ path, data }));
  for (const d of dirs) entries.push({ path: d, directory: true });
  return { entries, files, dirs };
}

async function run(cmd: string, args: string[], cwd?: string) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C.UTF-8" },
  })
    .output();
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return out.stdout;
}

const lines = (b: Uint8Array) => dec.decode(b).split("\n").filter((l) => l.length > 0);

Deno.test("random file sets read back exactly through isoinfo and bsdtar", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-isofuzz-" });
  try {
    for (let iteration = 0; iteration < 20; iteration++) {
      const seed = 1000 + iteration;
      const rnd = mulberry32(seed);
      const { entries, files, dirs } = randomTree(rnd);
      const iso = join(dir, `fuzz-${seed}.iso`);
      // Half the images are laid out first, half built in one step.
      const opts = { volumeId: "cidata", timestamp: new Date(seed * 1000) };
      if (iteration % 2) await writeIsoFile(await planIso(entries, opts), iso);
      else await buildIsoFile(entries, opts, iso);
      const allDirs = new Set<string>();
      for (const p of [...files.keys(), ...dirs]) {
        const parts = p.split("/");
        for (let i = 1; i < parts.length; i++) allDirs.add(parts.slice(0, i).join("/"));
      }
      for (const d of dirs) allDirs.add(d);
      const expected = [...files.keys(), ...allDirs].sort();
      const where = `seed ${seed}`;

      const rr = lines(await run("isoinfo", ["-f", "-R", "-i", iso])).map((l) => l.slice(1)).sort();
      assertEquals(rr, expected, `isoinfo -R, ${where}`);
      const asciiOnly = expected.filter((p) => /^[\x20-\x7e]*$/.test(p));
      const joliet = new Set(
        lines(await run("isoinfo", ["-f", "-J", "-i", iso])).map((l) => l.slice(1)),
      );
      for (const p of asciiOnly) {
        assertEquals(joliet.has(p), true, `isoinfo -J lacks ${p}, ${where}`);
      }
      const tar = lines(await run("bsdtar", ["-tf", iso])).filter((l) => l !== ".").map((l) =>
        l.replace(/\/$/, "")
      )
        .sort();
      assertEquals(tar, expected, `bsdtar -t, ${where}`);

      const out = join(dir, `x-${seed}`);
      await Deno.mkdir(out);
      await run("bsdtar", ["-xf", iso, "-C", out]);
      for (const [p, data] of files) {
        assertEquals(await Deno.readFile(join(out, p)), data, `bsdtar -x ${p}, ${where}`);
      }
      const some = [...files.keys()].slice(0, 3);
      for (const p of some) {
        assertEquals(
          await run("isoinfo", ["-R", "-i", iso, "-x", `/${p}`]),
          files.get(p),
          `isoinfo -x ${p}, ${where}`,
        );
      }
      await Deno.remove(out, { recursive: true });
      await Deno.remove(iso);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
