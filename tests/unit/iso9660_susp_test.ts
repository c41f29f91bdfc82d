import { assert, assertEquals } from "../helpers/assert.ts";
import { ascii, both32, listTree, readDirectory, rrName, SECTOR } from "../helpers/iso_read.ts";
import { isoBytes, type IsoEntry, planIso } from "../../lib/iso9660/mod.ts";

const enc = new TextEncoder();
const T = new Date(Date.UTC(2024, 5, 6, 7, 8, 9));
async function build(entries: IsoEntry[]): Promise<Uint8Array> {
  return isoBytes(await planIso(entries, { volumeId: "cidata", timestamp: T }));
}
const rootRecords = (img: Uint8Array) =>
  readDirectory(img, both32(img, 16 * SECTOR + 158), both32(img, 16 * SECTOR + 166), true);

Deno.test("SP opens the system use area of the root . record at byte 34", async () => {
  const img = await build([{ path: "user-data", data: enc.encode("x") }]);
  const dot = rootRecords(img)[0];
  assertEquals([...img.subarray(dot.offset + 34, dot.offset + 41)], [
    0x53,
    0x50,
    7,
    1,
    0xbe,
    0xef,
    0,
  ]);
});

Deno.test("the root's CE leads to an ER entry naming RRIP_1991A inside one block", async () => {
  const img = await build([{ path: "user-data", data: enc.encode("x") }]);
  const dot = rootRecords(img)[0];
  const ce = dot.su.find((e) => e.sig === "CE")!;
  assertEquals(ce.bytes.length, 28);
  const [lba, off, len] = [both32(ce.bytes, 4), both32(ce.bytes, 12), both32(ce.bytes, 20)];
  assert(off + len <= SECTOR && lba < img.length / SECTOR);
  const er = dot.su.find((e) => e.sig === "ER")!;
  assertEquals(er.bytes.length, 237);
  assertEquals([...er.bytes.subarray(0, 8)], [0x45, 0x52, 0xed, 1, 10, 84, 135, 1]);
  assertEquals(ascii(er.bytes, 8, 10), "RRIP_1991A");
  assertEquals(lba * SECTOR + off, er.bytes.byteOffset);
});

Deno.test("PX gives files r--r--r-- (or the mode asked for) and directories r-x with link counts", async () => {
  const img = await build([
    { path: "user-data", data: enc.encode("x"), mode: 0o400 },
    { path: "plain", data: enc.encode("y") },
    { path: "d/sub/f", data: enc.encode("z") },
  ]);
  const px = (sus: { sig: string; bytes: Uint8Array }[]) => {
    const e = sus.find((s) => s.sig === "PX")!;
    assertEquals(e.bytes.length, 36);
    return [both32(e.bytes, 4), both32(e.bytes, 12), both32(e.bytes, 20), both32(e.bytes, 28)];
  };
  const byName = new Map(listTree(img, "rr").map((f) => [f.path, f.record]));
  assertEquals(px(byName.get("user-data")!.su), [0o100400, 1, 0, 0]);
  assertEquals(px(byName.get("plain")!.su), [0o100444, 1, 0, 0]);
  assertEquals(px(byName.get("d")!.su), [0o040555, 3, 0, 0]);
  assertEquals(px(rootRecords(img)[0].su), [0o040555, 3, 0, 0]);
});

Deno.test("TF records modify, access and change times as 7-byte UTC dates", async () => {
  const img = await build([{ path: "f", data: enc.encode("x") }]);
  const tf = listTree(img, "rr")[0].record.su.find((e) => e.sig === "TF")!;
  assertEquals(tf.bytes.length, 26);
  assertEquals(tf.bytes[4], 0x0e);
  for (let i = 0; i < 3; i++) {
    assertEquals([...tf.bytes.subarray(5 + 7 * i, 12 + 7 * i)], [124, 6, 6, 7, 8, 9, 0]);
  }
});

Deno.test("NM carries the exact lower-case name with flags 0", async () => {
  const img = await build([{ path: "network-config", data: enc.encode("x") }]);
  const rec = listTree(img, "rr")[0].record;
  const nm = rec.su.find((e) => e.sig === "NM")!;
  assertEquals(nm.bytes[2], 5 + 14);
  assertEquals(nm.bytes[4], 0);
  assertEquals(rrName(rec), "network-config");
  assertEquals(rec.length, 126); // 33 + 11 + PX 36 + TF 26 + NM 19, as xorriso writes it (no RR entry)
});

Deno.test("a name too long for its record continues through CE, with NM CONTINUE inline", async () => {
  const long = "€".repeat(64); // 192 UTF-8 bytes
  const img = await build([{ path: long, data: enc.encode("x") }, {
    path: "short",
    data: enc.encode("y"),
  }]);
  const f = listTree(img, "rr").find((x) => x.path === long)!;
  assertEquals(f.record.length, 254);
  const nms = f.record.su.filter((e) => e.sig === "NM");
  assertEquals(nms.length, 2);
  assertEquals(nms[0].bytes[4], 1);
  assertEquals(nms[1].bytes[4], 0);
  assertEquals(rrName(f.record), long);
  // The continuation block directly follows the directory (libarchive reads it there).
  const ce = f.record.su.find((e) => e.sig === "CE")!;
  const root = rootRecords(img)[0];
  assertEquals(both32(ce.bytes, 4), root.lba + root.size / SECTOR);
});

Deno.test("Joliet records carry no system use entries", async () => {
  const img = await build([{ path: "user-data", data: enc.encode("x") }]);
  for (const f of listTree(img, "joliet")) {
    assertEquals(f.record.length, 33 + f.record.id.length + 1);
  }
});
