/**
 * Writing large buffers to files in small pieces.
 *
 * Linux 6.x file systems with large folios size the page-cache folio by the
 * write: a 1 MiB write asks for 2 MiB-order pages. On a VM with free page
 * reporting (Firecracker, cloud VMs with a balloon) those are exactly the
 * pages already handed back to the host, so each folio faults on the
 * hypervisor first, and a large write can take many times longer than the
 * same bytes written in small pieces (docs/benchmarks.md). curl writes small
 * pieces and never sees it.
 *
 * @module
 */
import type { HostFile } from "../host/mod.ts";

/** The largest single write: small enough for order-4 folios, large enough to keep calls few. */
export const WRITE_PIECE = 64 * 1024;

/** Write all of `data` to `file`, synchronously, in pieces of at most {@link WRITE_PIECE} bytes. */
export function writeAllSync(file: HostFile, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    off += file.writeSync(data.subarray(off, Math.min(data.length, off + WRITE_PIECE)));
  }
}
