import { assertEquals, assertRejects, assertThrows } from "../helpers/assert.ts";
import {
  assignIsoNames,
  isoBaseName,
  isoIdentifier,
  validateEntryName,
} from "../../lib/iso9660/names.ts";
import { isoBytes, planIso } from "../../lib/iso9660/mod.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { readFiles } from "../helpers/iso_read.ts";

const T = new Date(0);
const data = new Uint8Array(1);

Deno.test("level-1 names are upper-cased, non d-characters become _, 8 + 3 characters", () => {
  assertEquals(isoIdentifier(isoBaseName("user-data", false)), "USER_DAT.;1");
  assertEquals(isoIdentifier(isoBaseName("archive.tar.gz", false)), "ARCHIVE_.GZ;1");
  assertEquals(isoIdentifier(isoBaseName(".bashrc", false)), "_BASHRC.;1");
  assertEquals(isoIdentifier(isoBaseName("my dir.d", true)), "MY_DIR_D");
});

Deno.test("clashing level-1 names get a counter, deterministically", () => {
  const names = assignIsoNames([
    { name: "user-data2", dir: false },
    { name: "user-data", dir: false },
    { name: "USER_DATA", dir: false },
  ]).map(isoIdentifier);
  assertEquals(names, ["USER_DA2.;1", "USER_DA1.;1", "USER_DAT.;1"]);
});

Deno.test("names Joliet cannot store are refused with a diagnostic", () => {
  for (
    const bad of ["a:b", "a*b", "a?b", "a;1", "a\\b", "tab\there", "", ".", "..", "x".repeat(65)]
  ) {
    const err = assertThrows(() => validateEntryName(bad, bad), Diagnostic);
    assertEquals(err.code, "vmctl::iso::bad_name");
  }
});

Deno.test("a 64-character name is stored whole in every tree", async () => {
  const name = "n".repeat(64);
  const img = isoBytes(await planIso([{ path: name, data }], { volumeId: "cidata", timestamp: T }));
  assertEquals([...readFiles(img, "rr").keys()], [name]);
  assertEquals([...readFiles(img, "joliet").keys()], [name]);
});

Deno.test("the same path twice, or a file used as a directory, is refused", async () => {
  for (
    const entries of [[{ path: "a", data }, { path: "a", data }], [{ path: "a", data }, {
      path: "a/b",
      data,
    }]]
  ) {
    const err = await assertRejects(
      () => planIso(entries, { volumeId: "cidata", timestamp: T }),
      Diagnostic,
    );
    assertEquals((err as Diagnostic).code, "vmctl::iso::duplicate_path");
  }
});

Deno.test("more than 8 directory levels are refused", async () => {
  const ok = "1/2/3/4/5/6/7/file";
  await planIso([{ path: ok, data }], { volumeId: "cidata", timestamp: T });
  const err = await assertRejects(
    () => planIso([{ path: "1/2/3/4/5/6/7/8/file", data }], { volumeId: "cidata", timestamp: T }),
    Diagnostic,
  );
  assertEquals((err as Diagnostic).code, "vmctl::iso::too_deep");
});
