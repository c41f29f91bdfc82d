/**
 * Writing large buffers to files in small pieces.
 *
 * Linux 6.x file systems with large folios size the page-cache folio by the
 * write: a 1 MiB write asks for 2 MiB-order pages. On a VM with free page
 * reporting (Firecracker, cloud VMs with a balloon) those are exactly the
 * pages already handed back to the host, so each folio faults on the
 * hypervisor first. Measured on the CI machine: 1 GiB in 1 MiB writes took
 * 2.8-3.5 s, in 16 KiB writes 1.2 s (curl writes 4-12 KiB pieces and never
 * sees it); on tmpfs the extra write calls cost a few ms per 200 MB.
 *
 * @module
 */

/** The largest single write: small enough for order-2 folios. */
export const WRITE_PIECE = 16 * 1024;

/** Write all of `data` to `file`, synchronously, in {@link WRITE_PIECE} pieces. */
export function writeAllSync(file: Deno.FsFile, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    off += file.writeSync(data.subarray(off, Math.min(data.length, off + WRITE_PIECE)));
  }
}
