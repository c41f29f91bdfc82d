/**
 * The room reserved for an image's metadata (lib/iso9660/reserve.ts) is never smaller than
 * the metadata the layout then writes, for any tree, and is not much larger; a large image
 * written with the copy started early reads back exactly, with zeros in the unused room.
 */
import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { listTree, readFiles, SECTOR } from "../helpers/iso_read.ts";
import { mulberry32 } from "../helpers/prng.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { buildIsoFile, type IsoEntry, planIso, writeIsoFile } from "../../lib/iso9660/mod.ts";
import { layoutIso } from "../../lib/iso9660/layout.ts";
import {
  dataStartBound,
  packedSectors,
  recordRoom,
  RESERVE_MIN,
} from "../../lib/iso9660/reserve.ts";
import { packRecords } from "../../lib/iso9660/layout.ts";

const T = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
const enc = new TextEncoder();

// Short names that clash in 8.3, long ones that spill into CE areas, multi-byte characters.
const CHARS = "abcdefgh-_.0123456789éü€漢😀";

function randomEntries(rnd: () => number): IsoEntry[] {
  const chars = [...CHARS];
  const pick = (n: number) => {
    let s = "";
    while (s.length < n) s += chars[Math.floor(rnd() * chars.length)];
    return s === "." || s === ".." ? "dot" : s; // at most n + 1 UTF-16 units
  };
  const name = () => pick(rnd() < 0.15 ? 40 + Math.floor(rnd() * 23) : 1 + Math.floor(rnd() * 14));
  const dirs = [""];
  const seen = new Set<string>();
  const entries: IsoEntry[] = [];
  const count = Math.floor(rnd() * (rnd() < 0.3 ? 600 : 40));
  for (let i = 0; i < count; i++) {
    const parent = dirs[Math.floor(rnd() * dirs.length)];
    const path = parent ? `${parent}/${name()}` : name();
    if (path.length > 200 || [...seen].some((p) => p === path || p.startsWith(`${path}/`))) {
      continue;
    }
    if (rnd() < 0.2 && parent.split("/").length < 6) {
      dirs.push(path);
      seen.add(path);
      if (rnd() < 0.5) entries.push({ path, directory: true });
    } else if (!seen.has(parent) || parent === "" || rnd() < 0.9) {
      seen.add(path);
      entries.push({ path, data: new Uint8Array(Math.floor(rnd() * 3000)) });
    }
  }
  return entries;
}

Deno.test("no record, continuation or Joliet name takes more room than reserved for it", async () => {
  const rnd = mulberry32(7);
  const chars = [...CHARS];
  // Clashing 8.3 names (counter suffixes), names with 14-byte identifiers, names that spill.
  const names = new Set(["a", "abcdefgh.ijk", "abcdefgh.ij", "x".repeat(64), "€".repeat(64)]);
  for (let i = 0; i < 30; i++) names.add(`file-${1000 + i}.bin`);
  while (names.size < 300) {
    let n = "";
    const len = 1 + Math.floor(rnd() * 63);
    while (n.length < len) n += chars[Math.floor(rnd() * chars.length)];
    if (n !== "." && n !== ".." && n.length <= 64) names.add(n);
  }
  for (const dir of [false, true]) {
    const entries: IsoEntry[] = [...names].map((n) =>
      dir ? { path: n, directory: true } : { path: n, data: new Uint8Array(1) }
    );
    const layout = await planIso(entries, { volumeId: "cidata", timestamp: T });
    for (const c of layout.root.children) {
      const room = recordRoom(c.name, dir);
      assert(c.isoRecordLen <= room.iso, `${c.name}: ${c.isoRecordLen} > ${room.iso}`);
      assert((c.spill?.length ?? 0) <= room.ce, `${c.name}: CE ${c.spill?.length} > ${room.ce}`);
      assertEquals(c.jolietRecordLen, room.joliet, c.name);
    }
  }
});

Deno.test("records packed in any order never need more sectors than reserved", () => {
  const rnd = mulberry32(11);
  for (let i = 0; i < 2000; i++) {
    const lens = Array.from(
      { length: Math.floor(rnd() * 120) },
      () => 34 + 2 * Math.floor(rnd() * 111),
    );
    const records = { total: 0, longest: 0 };
    for (const l of lens) (records.total += l), (records.longest = Math.max(records.longest, l));
    const { sectors } = packRecords(lens);
    assert(packedSectors(records) >= (lens.length ? sectors : 0), `${lens}`);
    assert(packedSectors(records) <= sectors + 1 + sectors / 7, `${lens}`);
  }
});

Deno.test("the reserved room holds the metadata of every random tree, with little to spare", async () => {
  let checked = 0;
  const codes: string[] = [];
  for (let seed = 1; seed <= 300; seed++) {
    const entries = randomEntries(mulberry32(seed));
    let layout;
    try {
      layout = await planIso(entries, { volumeId: "cidata", timestamp: T });
    } catch (err) {
      if (err instanceof Diagnostic) {
        codes.push(err.code);
        continue;
      }
      throw err;
    }
    const bound = dataStartBound(entries);
    const dirs = layout.isoDirs.length;
    assert(bound >= layout.dataStart, `seed ${seed}: ${bound} < ${layout.dataStart}`);
    assert(
      bound <= layout.dataStart + 2 * dirs + 4,
      `seed ${seed}: ${bound} for ${layout.dataStart}`,
    );
    checked++;
  }
  assert(checked > 250, `only ${checked} trees were accepted: ${codes}`);
});

Deno.test("the reserved room of a two-file seed is its exact metadata", async () => {
  const entries = [
    { path: "user-data", data: enc.encode("#cloud-config\n") },
    { path: "meta-data", data: enc.encode("instance-id: x\n") },
  ];
  const layout = await planIso(entries, { volumeId: "cidata", timestamp: T });
  assertEquals(dataStartBound(entries), layout.dataStart);
});

/** A zero-filled (sparse) file just large enough for the image to reserve room. */
async function largeFile(dir: string): Promise<IsoEntry> {
  await Deno.writeFile(`${dir}/large`, new Uint8Array(0));
  await Deno.truncate(`${dir}/large`, RESERVE_MIN);
  return { path: "large", sourcePath: `${dir}/large` };
}

Deno.test("copied before the layout, file data sits in entry order after the reserved room", async () => {
  await withTempDir(async (dir) => {
    const names = Array.from({ length: 60 }, (_, i) => `file-with-a-long-name-${59 - i}.bin`);
    const entries: IsoEntry[] = [];
    const sizes = [RESERVE_MIN];
    entries.push(await largeFile(dir));
    for (const [i, n] of names.entries()) {
      await Deno.writeFile(`${dir}/${n}`, new Uint8Array(1000 + i * 700).fill(i + 1));
      entries.push({ path: `sub/${n}`, sourcePath: `${dir}/${n}` });
      sizes.push(1000 + i * 700);
    }
    const out = `${dir}/out.iso`;
    const layout = await buildIsoFile(entries, { volumeId: "cidata", timestamp: T }, out, {
      sync: false,
      worker: true,
    });
    assertEquals(
      layout.dataStart,
      dataStartBound(entries.map((e, i) => ({ ...e, size: sizes[i] }))),
    );
    const img = await Deno.readFile(out);
    const files = readFiles(img);
    names.forEach((n, i) =>
      assertEquals(files.get(`sub/${n}`), new Uint8Array(1000 + i * 700).fill(i + 1))
    );
    assertEquals(files.get("large")!.length, RESERVE_MIN);
    const byPath = new Map(listTree(img, "rr").map((f) => [f.path, f]));
    const lbas = ["large", ...names.map((n) => `sub/${n}`)].map((p) => byPath.get(p)!.lba);
    assertEquals(lbas, [...lbas].sort((a, b) => a - b)); // entry order, not name order
    assertEquals(lbas[0], layout.dataStart);
    const dirs = [...listTree(img, "iso"), ...listTree(img, "joliet")].filter((f) => f.dir);
    const metadataEnd = Math.max(...dirs.map((f) => f.lba + f.size / SECTOR)); // Joliet's last
    assert(img.subarray(metadataEnd * SECTOR, layout.dataStart * SECTOR).every((b) => b === 0));
  });
});

Deno.test("the same large input gives the same bytes on one thread, on two, and planned first", async () => {
  await withTempDir(async (dir) => {
    const entries = [await largeFile(dir)];
    const sized: IsoEntry[] = [{ ...entries[0], size: RESERVE_MIN }];
    for (let i = 0; i < 250; i++) {
      await Deno.writeFile(`${dir}/f${i}`, new Uint8Array(30 * i).fill(i));
      entries.push({ path: `d${i % 3}/file-${i}`, sourcePath: `${dir}/f${i}` });
      sized.push({ ...entries[i + 1], size: 30 * i });
    }
    const opts = { volumeId: "cidata", timestamp: T };
    // A tree whose reserved room is larger than its metadata: the images would differ without it.
    assert(dataStartBound(sized) > layoutIso(sized, opts).dataStart);
    await buildIsoFile(entries, opts, `${dir}/two.iso`, { sync: false, worker: true });
    await buildIsoFile(entries, opts, `${dir}/one.iso`, { sync: false, worker: false });
    await writeIsoFile(await planIso(entries, opts), `${dir}/planned.iso`, { sync: false });
    // Digests, not the 32 MiB images: a failure then prints a short diff.
    const digest = async (name: string) =>
      new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(`${dir}/${name}`)));
    const two = await digest("two.iso");
    assertEquals(await digest("one.iso"), two);
    assertEquals(await digest("planned.iso"), two);
  });
});

Deno.test("a name refused after the copy started fails as bad_name and leaves no file", async () => {
  await withTempDir(async (dir) => {
    const entries = [await largeFile(dir), { path: "b?", data: enc.encode("x") }];
    const err = await assertRejects(
      () => buildIsoFile(entries, { volumeId: "cidata" }, `${dir}/out.iso`, { worker: true }),
      Diagnostic,
    );
    assertEquals(err.code, "vmctl::iso::bad_name");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["large"]);
  });
});
