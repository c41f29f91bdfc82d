/**
 * Files vmctl puts into an installed VM zone's root (seen from the global
 * zone under `<altroot><zonepath>/root`): written atomically, their
 * directories made as needed. `zoneadm uninstall` removes them with the zone.
 *
 * @module
 */
import { writeAtomic, writeAtomicWith } from "../../lib/files.ts";
import { dirname } from "../../lib/posix_path.ts";
import { host } from "../../host/mod.ts";

/** Write `text` at `path` in a zone root (mode 0644: the zone's SMF reads it). */
export async function writeIntoZone(path: string, text: string): Promise<void> {
  await host.mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeAtomic(path, text, { mode: 0o644 });
}

/** Copy the file `from` to `path` in a zone root, private to the zone's root (0600). */
export async function copyIntoZone(from: string, path: string): Promise<void> {
  await host.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeAtomicWith(path, async (to) => {
    const src = await host.open(from, { read: true });
    for await (const chunk of src.readable) {
      for (let done = 0; done < chunk.length;) done += await to.write(chunk.subarray(done));
    }
  }, { mode: 0o600 });
}
