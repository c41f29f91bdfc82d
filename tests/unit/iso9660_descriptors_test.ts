import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { ascii, both16, both32, SECTOR, u32be, u32le, ucs2 } from "../helpers/iso_read.ts";
import { defaultTimestamp, isoBytes, type IsoEntry, planIso } from "../../lib/iso9660/mod.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

const enc = new TextEncoder();
const T = new Date(Date.UTC(2023, 10, 14, 22, 13, 20));
const seedEntries = (): IsoEntry[] => [
  { path: "user-data", data: enc.encode("#cloud-config\n") },
  { path: "meta-data", data: enc.encode("instance-id: a\nlocal-hostname: a\n") },
];
async function build(
  entries = seedEntries(),
  timestamp: Date | undefined = T,
): Promise<Uint8Array> {
  return isoBytes(await planIso(entries, { volumeId: "cidata", timestamp }));
}

Deno.test("the system area is zero and the PVD is the first descriptor at sector 16", async () => {
  const img = await build();
  assert(img.subarray(0, 16 * SECTOR).every((b) => b === 0));
  // FreeBSD's label taster needs exactly these 8 bytes.
  assertEquals([...img.subarray(16 * SECTOR, 16 * SECTOR + 8)], [
    1,
    0x43,
    0x44,
    0x30,
    0x30,
    0x31,
    1,
    0,
  ]);
});

Deno.test("the Joliet SVD at sector 17 declares UCS-2 level 3 and the terminator follows", async () => {
  const img = await build();
  const svd = 17 * SECTOR;
  assertEquals(img[svd], 2);
  assertEquals(ascii(img, svd + 1, 5), "CD001");
  assertEquals([...img.subarray(svd + 88, svd + 91)], [0x25, 0x2f, 0x45]);
  const term = 18 * SECTOR;
  assertEquals([...img.subarray(term, term + 7)], [0xff, 0x43, 0x44, 0x30, 0x30, 0x31, 1]);
  assert(img.subarray(term + 7, term + SECTOR).every((b) => b === 0));
});

Deno.test("the volume label is cidata in the PVD (space padded) and in Joliet (UCS-2 padded)", async () => {
  const img = await build();
  assertEquals(ascii(img, 16 * SECTOR + 40, 32), "cidata" + " ".repeat(26));
  // 00 20 padding: ASCII spaces here would make blkid report "cidata††††".
  assertEquals(ucs2(img, 17 * SECTOR + 40, 32), "cidata" + " ".repeat(10));
  assertEquals([...img.subarray(17 * SECTOR + 52, 17 * SECTOR + 54)], [0x00, 0x20]);
});

Deno.test("the volume space size counts every sector of the image in both descriptors", async () => {
  const img = await build();
  assertEquals(img.length % SECTOR, 0);
  assertEquals(both32(img, 16 * SECTOR + 80), img.length / SECTOR);
  assertEquals(both32(img, 17 * SECTOR + 80), img.length / SECTOR);
});

Deno.test("both-endian descriptor fields agree and hold the fixed values", async () => {
  const img = await build();
  for (const vd of [16 * SECTOR, 17 * SECTOR]) {
    assertEquals(both16(img, vd + 120), 1);
    assertEquals(both16(img, vd + 124), 1);
    assertEquals(both16(img, vd + 128), 2048);
    assertEquals(img[vd + 881], 1);
    assert(img.subarray(vd + 72, vd + 80).every((b) => b === 0));
    assert(img.subarray(vd + 1395, vd + SECTOR).every((b) => b === 0));
  }
});

Deno.test("a two-file seed is 28 sectors, well under the 40-sector budget", async () => {
  const img = await build();
  assertEquals(img.length / SECTOR, 28);
});

Deno.test("the root-only path tables are 10 bytes, L little-endian and M big-endian", async () => {
  const img = await build();
  for (const vd of [16 * SECTOR, 17 * SECTOR]) {
    assertEquals(both32(img, vd + 132), 10);
    const l = u32le(img, vd + 140) * SECTOR;
    const m = u32be(img, vd + 148) * SECTOR;
    assert(l / SECTOR >= 18 && m / SECTOR >= 18, "libarchive needs path tables at LBA >= 18");
    const rootLba = both32(img, vd + 156 + 2);
    assertEquals([img[l], img[l + 1], u32le(img, l + 2), img[l + 6], img[l + 7], img[l + 8]], [
      1,
      0,
      rootLba,
      1,
      0,
      0,
    ]);
    assertEquals([img[m], u32be(img, m + 2), img[m + 6], img[m + 7]], [1, rootLba, 0, 1]);
  }
});

Deno.test("volume dates are the given UTC time as 16 digits with offset 0; expiry is unset", async () => {
  const img = await build();
  const pvd = 16 * SECTOR;
  assertEquals(ascii(img, pvd + 813, 16), "2023111422132000");
  assertEquals(img[pvd + 829], 0);
  assertEquals(ascii(img, pvd + 830, 16), "2023111422132000");
  assertEquals(ascii(img, pvd + 847, 16), "0".repeat(16));
  const root = pvd + 156;
  assertEquals([...img.subarray(root + 18, root + 25)], [123, 11, 14, 22, 13, 20, 0]);
});

Deno.test("two builds of the same input with the same timestamp are byte-identical", async () => {
  const a = await build();
  const b = await build();
  assertEquals(a, b);
});

Deno.test("SOURCE_DATE_EPOCH sets the timestamp when none is given", async () => {
  Deno.env.set("SOURCE_DATE_EPOCH", "1700000000");
  try {
    assertEquals(defaultTimestamp().getTime(), 1700000000 * 1000);
    const a = await build(seedEntries(), undefined);
    const b = await build(seedEntries(), undefined);
    assertEquals(a, b);
    assertEquals(ascii(a, 16 * SECTOR + 813, 16), "2023111422132000");
  } finally {
    Deno.env.delete("SOURCE_DATE_EPOCH");
  }
});

Deno.test("a SOURCE_DATE_EPOCH that is not a number is refused", () => {
  Deno.env.set("SOURCE_DATE_EPOCH", "yesterday");
  try {
    let err: unknown;
    try {
      defaultTimestamp();
    } catch (e) {
      err = e;
    }
    assert(err instanceof Diagnostic && err.code === "vmctl::iso::bad_source_date_epoch");
  } finally {
    Deno.env.delete("SOURCE_DATE_EPOCH");
  }
});

Deno.test("a volume label Joliet cannot hold is refused", async () => {
  const err = await assertRejects(
    () => planIso(seedEntries(), { volumeId: "a-label-longer-than-16", timestamp: T }),
    Diagnostic,
  );
  assertEquals((err as Diagnostic).code, "vmctl::iso::bad_volume_id");
});

Deno.test("the application id is written in both descriptors; a non-ASCII one is refused", async () => {
  const img = isoBytes(
    await planIso(seedEntries(), { volumeId: "cidata", timestamp: T, applicationId: "VMCTL" }),
  );
  assertEquals(ascii(img, 16 * SECTOR + 574, 5), "VMCTL");
  assertEquals(ucs2(img, 17 * SECTOR + 574, 10), "VMCTL");
  const err = await assertRejects(
    () => planIso(seedEntries(), { volumeId: "cidata", timestamp: T, applicationId: "vmctl ✓" }),
    Diagnostic,
  );
  assertEquals((err as Diagnostic).code, "vmctl::iso::bad_application_id");
});
