/**
 * Writing large buffers to files in small pieces.
 *
 * Linux 6.x file systems with large folios size the page-cache folio by the
 * write: a 1 MiB write asks for 2 MiB-order pages. On a VM with free page
 * reporting (Firecracker, cloud VMs with a balloon) those are exactly the
 * pages already handed back to the host, so each folio faults on the
 * hypervisor first. Measured on the CI machine, 1 GiB written after a few idle
 * seconds: in 1 MiB writes 1.3-3.5 s, in 256 KiB writes 0.2-0.7 s, in 64 KiB
 * writes 0.22-0.24 s, in 16 KiB writes 0.30-0.44 s (more calls). curl writes
 * 4-12 KiB pieces and never sees it.
 *
 * Two of our threads writing at once (a zstd pull: the compressed part on the
 * main thread, the decompressed image on the inflater's) use 16 KiB pieces:
 * with 64 KiB pieces eight of ten such pulls took 1.35-2.1 s of system time
 * instead of 0.75-0.85 s; with 16 KiB one of fourteen did (the others
 * 0.68-0.89 s). Folios up to 32 KiB come from per-CPU page lists; larger ones
 * are allocated under the zone lock, which the two writers' vCPUs then contend
 * for (the time shows inside the page-cache copy and in paravirtual spin-lock
 * unlocks). That is our reading of it; the measurement is the reason.
 *
 * @module
 */

/** The largest single write: small enough for order-4 folios, large enough to keep calls few. */
export const WRITE_PIECE = 64 * 1024;

/** The largest single write while another of our threads writes too (see above). */
export const CONCURRENT_WRITE_PIECE = 16 * 1024;

/** Write all of `data` to `file`, synchronously, in pieces of at most `piece` bytes. */
export function writeAllSync(file: Deno.FsFile, data: Uint8Array, piece = WRITE_PIECE): void {
  let off = 0;
  while (off < data.length) {
    off += file.writeSync(data.subarray(off, Math.min(data.length, off + piece)));
  }
}
