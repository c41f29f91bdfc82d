/**
 * Files on disk are sized when the image is planned and read when it is written: a file whose
 * size changed in between is refused (the directory records already hold the old size), and one
 * that did not is copied exactly, wherever it ends relative to the writer's buffer.
 */
import { assertEquals, assertRejects } from "../helpers/assert.ts";
import { readFiles, SECTOR } from "../helpers/iso_read.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { type IsoEntry, planIso, writeIsoFile } from "../../lib/iso9660/mod.ts";

const T = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
/** The writer's buffer (lib/iso9660/write.ts). */
const CHUNK = 4 << 20;

function pattern(size: number, seed = 1): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 31 + seed) & 0xff);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
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
  await withDir(async (dir) => {
    const layout = await plan(dir, { "a.bin": 5000 });
    await Deno.writeFile(`${dir}/a.bin`, pattern(5001));
    const err = await assertRejects(() => writeIsoFile(layout, `${dir}/out.iso`), Diagnostic);
    assertEquals(err.code, "vmctl::iso::source_changed");
  });
});

Deno.test("a source file that shrank after planning is refused as source_changed", async () => {
  await withDir(async (dir) => {
    const layout = await plan(dir, { "a.bin": 5000 });
    await Deno.writeFile(`${dir}/a.bin`, pattern(4999));
    const err = await assertRejects(() => writeIsoFile(layout, `${dir}/out.iso`), Diagnostic);
    assertEquals(err.code, "vmctl::iso::source_changed");
  });
});

Deno.test("a large source file that grew after planning is refused as source_changed", async () => {
  await withDir(async (dir) => {
    const layout = await plan(dir, { "big.bin": CHUNK + 12345 });
    await Deno.writeFile(`${dir}/big.bin`, pattern(1), { append: true });
    const err = await assertRejects(() => writeIsoFile(layout, `${dir}/out.iso`), Diagnostic);
    assertEquals(err.code, "vmctl::iso::source_changed");
  });
});

Deno.test("a file ending exactly at the end of the writer's buffer is still checked for growth", async () => {
  await withDir(async (dir) => {
    // The metadata's size depends on the names only: measure it, then size the file to fill
    // the rest of the first buffer exactly.
    const probe = await plan(dir, { "edge.bin": 1 });
    const size = CHUNK - probe.dataStart * SECTOR;
    const layout = await plan(dir, { "edge.bin": size });
    assertEquals(layout.dataStart, probe.dataStart);
    await Deno.writeFile(`${dir}/edge.bin`, pattern(1), { append: true });
    const err = await assertRejects(() => writeIsoFile(layout, `${dir}/out.iso`), Diagnostic);
    assertEquals(err.code, "vmctl::iso::source_changed");
  });
});

Deno.test("unchanged source files are copied exactly, across and up to buffer boundaries", async () => {
  await withDir(async (dir) => {
    const probe = await plan(dir, { "a.bin": 1, "b.bin": 1, "c.bin": 1 });
    const first = CHUNK - probe.dataStart * SECTOR; // a.bin fills the first buffer exactly
    const sizes = { "a.bin": first, "b.bin": CHUNK + 777, "c.bin": 3 };
    const layout = await plan(dir, sizes);
    await writeIsoFile(layout, `${dir}/out.iso`, { sync: false });
    const files = readFiles(await Deno.readFile(`${dir}/out.iso`));
    for (const [name, size] of Object.entries(sizes)) {
      assertEquals(files.get(name), pattern(size, name.length), name);
    }
  });
});
