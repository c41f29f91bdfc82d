import { assert, assertEquals } from "../helpers/assert.ts";
import {
  ascii,
  both32,
  fileBytes,
  listTree,
  readDirectory,
  readFiles,
  SECTOR,
  u16be,
  u16le,
  u32be,
  u32le,
} from "../helpers/iso_read.ts";
import { isoBytes, type IsoEntry, planIso } from "../../lib/iso9660/mod.ts";

const enc = new TextEncoder();
const T = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
async function build(entries: IsoEntry[]): Promise<Uint8Array> {
  return isoBytes(await planIso(entries, { volumeId: "cidata", timestamp: T }));
}
const file = (path: string, text = path) => ({ path, data: enc.encode(text) });
const rootOf = (img: Uint8Array, vd: number) => ({
  lba: both32(img, vd * SECTOR + 158),
  size: both32(img, vd * SECTOR + 166),
});

Deno.test("primary names are level-1 8.3 upper case with ;1, in ECMA-119 order", async () => {
  const img = await build(
    ["vendor-data", "user-data", "network-config", "meta-data"].map((n) => file(n)),
  );
  const names = listTree(img, "iso").map((f) => f.path);
  assertEquals(names, ["META_DAT.;1", "NETWORK_.;1", "USER_DAT.;1", "VENDOR_D.;1"]);
});

Deno.test("Joliet names are the exact names in UCS-2, sorted by code unit, without ;1", async () => {
  const img = await build(["b", "B", "a-b", "a"].map((n) => file(n)));
  assertEquals(listTree(img, "joliet").map((f) => f.path), ["B", "a", "a-b", "b"]);
  const rec = listTree(img, "joliet")[0].record;
  assertEquals([...rec.id], [0x00, 0x42]);
});

Deno.test("a Joliet record is 33 + 2 x length + 1 pad byte", async () => {
  const img = await build([file("meta-data"), file("network-config")]);
  const lens = listTree(img, "joliet").map((f) => f.record.length);
  assertEquals(lens, [52, 62]);
});

Deno.test("every directory starts with . (0x00) and .. (0x01) pointing at itself and its parent", async () => {
  const img = await build([file("d/e/f")]);
  const root = rootOf(img, 16);
  const recs = readDirectory(img, root.lba, root.size, false);
  assertEquals([...recs[0].id, ...recs[1].id], [0, 1]);
  assertEquals([recs[0].lba, recs[1].lba], [root.lba, root.lba]);
  const d = recs[2];
  const inner = readDirectory(img, d.lba, d.size, false);
  assertEquals([inner[0].lba, inner[1].lba], [d.lba, root.lba]);
  assertEquals(inner[0].flags & 2, 2);
});

Deno.test("records have even lengths and a pad byte after an even-length identifier", async () => {
  const img = await build([file("ab"), file("abc.de"), file("x.y")]);
  for (const f of listTree(img, "iso")) {
    assertEquals(f.record.length % 2, 0);
    const idLen = f.record.id.length;
    if (idLen % 2 === 0) assertEquals(img[f.record.offset + 33 + idLen], 0);
  }
});

Deno.test("a directory with many entries spans sectors without a record crossing a boundary", async () => {
  const entries = Array.from(
    { length: 120 },
    (_, i) => file(`file-number-${String(i).padStart(3, "0")}.txt`),
  );
  const img = await build(entries);
  const root = rootOf(img, 16);
  assert(root.size > SECTOR, "the root needs more than one sector");
  assertEquals(root.size % SECTOR, 0);
  // readDirectory throws if a record crosses a sector.
  assertEquals(readDirectory(img, root.lba, root.size, true).length, 122);
  const j = rootOf(img, 17);
  assertEquals(readDirectory(img, j.lba, j.size, false).length, 122);
  assertEquals(readFiles(img, "rr").size, 120);
});

Deno.test("names that mangle to the same 8.3 name get unique primary names", async () => {
  const img = await build([file("user-data"), file("user-data2"), file("user_data")]);
  const iso = listTree(img, "iso").map((f) => f.path);
  assertEquals(new Set(iso).size, 3);
  assertEquals([...readFiles(img, "rr").keys()].sort(), ["user-data", "user-data2", "user_data"]);
});

Deno.test("file data is stored at exact size in contiguous sectors with a zero tail", async () => {
  const sizes = [1, 2047, 2048, 2049, 5000];
  const entries = sizes.map((n, i) => ({ path: `f${i}`, data: new Uint8Array(n).fill(i + 1) }));
  const img = await build(entries);
  for (const f of listTree(img, "iso")) {
    const i = Number(f.path.slice(1, 2));
    assertEquals(f.size, sizes[i]);
    assert(fileBytes(img, f).every((b) => b === i + 1));
    const end = f.lba * SECTOR + f.size;
    assert(img.subarray(end, Math.ceil(end / SECTOR) * SECTOR).every((b) => b === 0));
  }
  const joliet = listTree(img, "joliet");
  assertEquals(
    joliet.map((f) => [f.lba, f.size]),
    listTree(img, "iso").map((f) => [f.lba, f.size]),
  );
});

Deno.test("an empty file has size 0 and points at the end of the volume", async () => {
  const img = await build([file("empty", ""), file("x")]);
  const empty = listTree(img, "rr").find((f) => f.path === "empty")!;
  assertEquals(empty.size, 0);
  assertEquals(empty.lba, img.length / SECTOR);
});

Deno.test("all metadata comes before the file data", async () => {
  const img = await build([file("z"), file("d/a"), file("d/e/b")]);
  const dirs = listTree(img, "iso").filter((f) => f.dir).map((f) => f.lba);
  const data = listTree(img, "iso").filter((f) => !f.dir).map((f) => f.lba);
  assert(Math.max(...dirs) < Math.min(...data));
});

Deno.test("path tables list directories by level, parent number, then name", async () => {
  const img = await build([file("b/y/f"), file("a/x/f"), file("a/w/f"), file("c")]);
  const pvd = 16 * SECTOR;
  const size = both32(img, pvd + 132);
  const read = (lba: number, big: boolean) => {
    const out: [string, number, number][] = [];
    let p = lba * SECTOR;
    const end = p + size;
    while (p < end) {
      const len = img[p];
      const extent = big ? u32be(img, p + 2) : u32le(img, p + 2);
      const parent = big ? u16be(img, p + 6) : u16le(img, p + 6);
      out.push([len === 1 && img[p + 8] === 0 ? "/" : ascii(img, p + 8, len), parent, extent]);
      p += 8 + len + (len & 1);
    }
    return out;
  };
  const l = read(u32le(img, pvd + 140), false);
  assertEquals(l.map(([n, parent]) => [n, parent]), [["/", 1], ["A", 1], ["B", 1], ["W", 2], [
    "X",
    2,
  ], ["Y", 3]]);
  assertEquals(read(u32be(img, pvd + 148), true), l);
  // Extents match the directory records.
  const dirs = new Map(
    listTree(img, "iso").filter((f) => f.dir).map((f) => [f.path.split("/").pop()!, f.lba]),
  );
  for (const [n, , extent] of l.slice(1)) assertEquals(extent, dirs.get(n));
});
