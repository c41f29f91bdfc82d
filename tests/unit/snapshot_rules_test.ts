import { Diagnostic } from "../../lib/diagnostics.ts";
import {
  emptyBook,
  incompatibility,
  parseBook,
  SAVED_STATE_TAG,
  serializeBook,
  snapshotRows,
} from "../../lib/snapshots.ts";
import { requireName, SNAPSHOT_NAME_RULE } from "../../lib/names.ts";
import { assertEquals, assertThrows } from "../helpers/assert.ts";

const HERE = { qemu_version: "7.2.22", machine: "pc-q35-7.2" };

Deno.test("a memory snapshot loads only into the QEMU version and machine type that wrote it", () => {
  assertEquals(incompatibility(HERE, HERE), undefined);
  assertEquals(
    incompatibility({ ...HERE, qemu_version: "6.2.0" }, HERE),
    "it was written by QEMU 6.2.0, and this is QEMU 7.2.22",
  );
  assertEquals(
    incompatibility({ ...HERE, machine: "pc-q35-6.2" }, HERE),
    "it was written for machine type pc-q35-6.2, and this VM runs pc-q35-7.2",
  );
  assertEquals(incompatibility(undefined, HERE), "vmctl has no record of the QEMU that wrote it");
});

Deno.test("snapshot list rows hide the saved state and join vmctl's facts", () => {
  const book = emptyBook();
  book.snapshots.s1 = { created_at: "t", memory: true, origin: HERE };
  const rows = snapshotRows([
    { name: "s1", date: "2026-01-01T00:00:00.000Z", vmStateBytes: 1000 },
    { name: SAVED_STATE_TAG, date: "2026-01-01T00:00:00.000Z", vmStateBytes: 5 },
    { name: "outside", date: "2026-01-02T00:00:00.000Z", vmStateBytes: 0 },
  ], book);
  assertEquals(rows, [
    {
      name: "s1",
      created_at: "2026-01-01T00:00:00.000Z",
      memory: true,
      vm_state_bytes: 1000,
      ...HERE,
    },
    {
      name: "outside",
      created_at: "2026-01-02T00:00:00.000Z",
      memory: false,
      vm_state_bytes: 0,
      qemu_version: null,
      machine: null,
    },
  ]);
});

Deno.test("snapshots.json reads back what was written; a broken one is a diagnostic", () => {
  const book = emptyBook();
  book.snapshots.s1 = { created_at: "t", memory: false };
  assertEquals(parseBook(serializeBook(book), "f"), book);
  for (const text of ["{", "[]", '{"snapshots": 3}']) {
    const err = assertThrows(() => parseBook(text, "f"), Diagnostic);
    assertEquals(err.code, "vmctl::snapshot::corrupt_book");
  }
});

Deno.test("snapshot names are VM names, not all digits and not vmctl's own", () => {
  for (const ok of ["s1", "before-upgrade", "v1.2_x", "1a"]) {
    assertEquals(requireName(SNAPSHOT_NAME_RULE, ok, "c"), ok);
  }
  for (const bad of ["", "1", "007", "vmctl-saved-state", "vmctl-x", "-a", ".a", "a/b"]) {
    assertThrows(() => requireName(SNAPSHOT_NAME_RULE, bad, "c"), Diagnostic);
  }
});
