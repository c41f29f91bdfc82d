/**
 * Reading just enough of a qcow2 header to refuse images that name a backing
 * file: an untrusted download must not make QEMU open a host file. (QEMU
 * itself is asked too, by backends/qemu/img.ts, before an overlay is made.)
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { host } from "../../host/mod.ts";

/** The backing file a qcow2 header names, "" when none, or null when `path` is not qcow2. */
export async function qcow2BackingFile(path: string): Promise<string | null> {
  const f = await host.open(path, { read: true });
  try {
    const head = new Uint8Array(20);
    let got = 0;
    while (got < head.length) {
      const n = await f.read(head.subarray(got));
      if (n === null) break;
      got += n;
    }
    if (got < head.length) return null;
    const dv = new DataView(head.buffer);
    if (dv.getUint32(0) !== 0x514649fb) return null; // "QFI\xfb"
    const offset = dv.getBigUint64(8);
    const size = dv.getUint32(16);
    if (offset === 0n || size === 0) return "";
    const name = new Uint8Array(Math.min(size, 4096));
    await f.seek(Number(offset));
    const n = (await f.read(name)) ?? 0;
    return new TextDecoder().decode(name.subarray(0, n)) || "(unreadable)";
  } finally {
    f.close();
  }
}

/** Throw `vmctl::image::has_backing_file` when `path` is a qcow2 with a backing file. */
export async function assertSelfContained(path: string): Promise<void> {
  const backing = await qcow2BackingFile(path);
  if (backing) {
    throw new Diagnostic(
      "vmctl::image::has_backing_file",
      `image ${path} names a backing file (${backing})`,
      {
        hint:
          "a base image must be self-contained; flatten it first: qemu-img convert -O qcow2 IN OUT",
      },
    );
  }
}
