/**
 * `vmctl __complete WHAT [--root DIR]`: the live names a completion script
 * offers, one per line. Run at every TAB, so it reads only the registry files
 * (no backend, no lock) and never fails loudly: whatever cannot be read
 * (no data dir, no permission, a broken file) contributes no names.
 *
 * @module
 */
import { NAME_KINDS, type NameKind } from "../../lib/completion.ts";
import { dataPaths } from "../../lib/paths.ts";

/** The names of `kind`, sorted; `root` is the zone registry (`--root`). */
export async function liveNames(kind: NameKind, root?: string): Promise<string[]> {
  switch (kind) {
    case "vms": {
      const { readStore } = await import("../../lib/store.ts");
      return Object.keys((await readStore(dataPaths())).vms).sort();
    }
    case "images": {
      const { cacheLayout, readIndex } = await import("../../lib/image/cache.ts");
      const doc = await readIndex(cacheLayout(dataPaths()));
      return [...new Set(doc.images.map((e) => e.name))].sort();
    }
    default: {
      const { listEntityNames, registryAt } = await import("../../backends/zones/registry.ts");
      return await listEntityNames(registryAt(root), kind);
    }
  }
}

/** The words after `__complete`: the kind, then an optional `--root DIR`. */
function parseArgs(args: string[]): { kind?: NameKind; root?: string } {
  const kind = NAME_KINDS.find((k) => k === args[0]);
  const at = args.indexOf("--root");
  return { kind, root: at > 0 ? args[at + 1] : undefined };
}

/** Print the names `args` ask for; any failure prints nothing. */
export async function completeCommand(args: string[]): Promise<void> {
  const { kind, root } = parseArgs(args);
  if (!kind) return;
  const names = await liveNames(kind, root).catch(() => []);
  if (names.length) console.log(names.join("\n"));
}
