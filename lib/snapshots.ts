/**
 * Snapshots as data: vmctl's own facts about a VM's snapshots (kept in the
 * work dir's snapshots.json, next to the overlay that holds the snapshots),
 * the reserved tag of a `stop --save` state, the compatibility rule of a
 * memory snapshot, and the rows `snapshot list` shows.
 *
 * The overlay is the truth about which snapshots exist; snapshots.json adds
 * what the image does not say: which QEMU version and machine type wrote a
 * memory snapshot.
 *
 * @module
 */
import { Diagnostic } from "./diagnostics.ts";
import type { SnapshotOrigin } from "./types.ts";

/** The tag of the state `stop --save` keeps; never a user snapshot (names are validated). */
export const SAVED_STATE_TAG = "vmctl-saved-state";

/** What snapshots.json keeps about one snapshot. */
export interface SnapshotMeta {
  created_at: string;
  /** With the guest's memory and device state (a live snapshot). */
  memory: boolean;
  /** The QEMU that wrote it (memory snapshots only). */
  origin?: SnapshotOrigin;
}

/** The whole snapshots.json document. */
export interface SnapshotBook {
  version: 1;
  snapshots: Record<string, SnapshotMeta>;
}

/** A snapshot as the overlay lists it (`qemu-img info`). */
export interface ImageSnapshot {
  name: string;
  /** When QEMU took it (ISO 8601). */
  date: string;
  /** Bytes of saved memory and device state; 0 for a disk-only snapshot. */
  vmStateBytes: number;
}

/** One row of `snapshot list`. */
export interface SnapshotRow {
  name: string;
  created_at: string;
  memory: boolean;
  vm_state_bytes: number;
  qemu_version: string | null;
  machine: string | null;
}

/** An empty book. */
export function emptyBook(): SnapshotBook {
  return { version: 1, snapshots: {} };
}

/** Parse snapshots.json text; anything unreadable is a diagnostic naming the file. */
export function parseBook(text: string, file: string): SnapshotBook {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw corruptBook(file, err instanceof Error ? err.message : String(err));
  }
  const snaps = (raw as { snapshots?: unknown } | null)?.snapshots;
  if (!snaps || typeof snaps !== "object" || Array.isArray(snaps)) {
    throw corruptBook(file, "it has no `snapshots` object");
  }
  return { version: 1, snapshots: snaps as Record<string, SnapshotMeta> };
}

function corruptBook(file: string, why: string): Diagnostic {
  return new Diagnostic("vmctl::snapshot::corrupt_book", `${file} is not readable: ${why}`, {
    hint:
      "move it aside: vmctl then treats every snapshot as of unknown origin (memory snapshots cannot be restored)",
  });
}

/** The book as written (stable, one snapshot a line block). */
export function serializeBook(book: SnapshotBook): string {
  return JSON.stringify(book, null, 2) + "\n";
}

/** The rows of `snapshot list`: the overlay's snapshots (not the saved state) with vmctl's facts. */
export function snapshotRows(image: ImageSnapshot[], book: SnapshotBook): SnapshotRow[] {
  return image.filter((s) => s.name !== SAVED_STATE_TAG).map((s) => {
    const meta = book.snapshots[s.name];
    return {
      name: s.name,
      created_at: s.date,
      memory: s.vmStateBytes > 0,
      vm_state_bytes: s.vmStateBytes,
      qemu_version: meta?.origin?.qemu_version ?? null,
      machine: meta?.origin?.machine ?? null,
    };
  });
}

/**
 * Why a memory snapshot written by `written` cannot be loaded by `loader`, or
 * undefined when it can: QEMU loads device state only into the same version
 * and machine type it was saved from.
 */
export function incompatibility(
  written: SnapshotOrigin | undefined,
  loader: SnapshotOrigin,
): string | undefined {
  if (!written) return "vmctl has no record of the QEMU that wrote it";
  if (written.qemu_version !== loader.qemu_version) {
    return `it was written by QEMU ${written.qemu_version}, and this is QEMU ${loader.qemu_version}`;
  }
  if (written.machine !== loader.machine) {
    return `it was written for machine type ${written.machine}, and this VM runs ${loader.machine}`;
  }
  return undefined;
}
