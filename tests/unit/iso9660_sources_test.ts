/**
 * Files on disk are sized when the image is planned and read when it is written: a file whose
 * size changed in between is refused (the directory records already hold the old size), and one
 * that did not is copied exactly, wherever it ends relative to the writer's buffer.
 */
import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { readFiles, SECTOR } from "../helpers/iso_read.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { type IsoEntry, planIso, writeIsoFile } from "../../lib/iso9660/mod.ts";

const T = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
/** Four of the 1 MiB spans the data region is copied in (lib/iso9660/data.ts). */
const CHUNK = 4 << 20;

function pattern(size: number, seed = 1): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 31 + seed) & 0xff);
}

async function plan(dir: string, sizes: Record<string, number>) {
  const entries: IsoEntry[] = [];
  for (const [name, size] of Object.entries(sizes)) {
    await Deno.writeFile(`${dir}/${name}`, pattern(size, name.length));
    entries.push({ path: name, sourcePath: `${dir}/${name}` });
  }
  return await planIso(entries, { volumeId: "cidata", timestamp: T });
}

Deno.test("a small source file that grew after planning is refused as source_changed", async () => {
  await withTempDir(async (dir) => {
    const layout = await plan(dir, { "a.bin": 5000 });
    await Deno.writeFile(`${dir}/a.bin`, pattern(5001));
    const err = await assertRejects(
      () => writeIsoFile(layout, `${dir}/out.iso`),
      Diagnostic,
    );
    assertEquals(err.code, "vmctl::iso::source_changed");
  });
});

Deno.test("a source file that shrank after planning is refused as source_changed", async () => {
  await withTempDir(async (dir) => {
    const layout = await plan(dir, { "a.bin": 5000 });
    await Deno.writeFile(`${dir}/a.bin`, pattern(4999));
    const err = await assertRejects(
      () => writeIsoFile(layout, `${dir}/out.iso`),
      Diagnostic,
    );
    assertEquals(err.code, "vmctl::iso::source_changed");
  });
});

Deno.test("a large source file that grew after planning is refused as source_changed", async () => {
  await withTempDir(async (dir) => {
    const layout = await plan(dir, { "big.bin": CHUNK + 12345 });
    await Deno.writeFile(`${dir}/big.bin`, pattern(1), { append: true });
    const err = await assertRejects(
      () => writeIsoFile(layout, `${dir}/out.iso`),
      Diagnostic,
    );
    assertEquals(err.code, "vmctl::iso::source_changed");
  });
});

Deno.test("a file ending exactly at the end of a buffer is still checked for growth", async () => {
  await withTempDir(async (dir) => {
    // The data region is copied in 1 MiB spans from its first byte: a first file of 4 MiB
    // ends exactly at a span's end.
    const layout = await plan(dir, { "edge.bin": CHUNK });
    await Deno.writeFile(`${dir}/edge.bin`, pattern(1), { append: true });
    const err = await assertRejects(
      () => writeIsoFile(layout, `${dir}/out.iso`),
      Diagnostic,
    );
    assertEquals(err.code, "vmctl::iso::source_changed");
  });
});

Deno.test("unchanged source files are copied exactly, across and up to buffer ends", async () => {
  await withTempDir(async (dir) => {
    const sizes = { "a.bin": CHUNK, "b.bin": CHUNK + 777, "c.bin": 3, "d.bin": 2 * SECTOR };
    const layout = await plan(dir, sizes);
    await writeIsoFile(layout, `${dir}/out.iso`, { sync: false });
    const files = readFiles(await Deno.readFile(`${dir}/out.iso`));
    for (const [name, size] of Object.entries(sizes)) {
      assertEquals(files.get(name), pattern(size, name.length), name);
    }
  });
});

Deno.test("a source file removed after planning fails naming it, and leaves nothing", async () => {
  await withTempDir(async (dir) => {
    const layout = await plan(dir, { "a.bin": 100, "b.bin": 200 });
    await Deno.remove(`${dir}/b.bin`);
    const err = await assertRejects(
      () => writeIsoFile(layout, `${dir}/out.iso`),
      Diagnostic,
      "b.bin",
    );
    assertEquals(err.code, "vmctl::iso::write_failed");
    assert(err.cause instanceof Deno.errors.NotFound, String(err.cause));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a.bin"]);
  });
});
