/**
 * The actions behind `vmctl image ...`.
 *
 * @module
 */
import { join } from "../../lib/posix_path.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { dataPaths, resolveUserPath } from "../../lib/paths.ts";
import { readStore } from "../../lib/store.ts";
import {
  blobPath,
  cacheLayout,
  findEntry,
  readIndex,
  unreferencedBlobs,
  updateIndex,
} from "../../lib/image/cache.ts";
import { formatBytes } from "../../lib/image/progress.ts";
import { pullImage } from "../../lib/image/resolve.ts";
import { createRunner } from "../../backends/exec.ts";
import { imageInfo } from "../../backends/qemu/img.ts";
import { formatTable, opsContext, printJson } from "../common.ts";
import { importPlan, runImport } from "../../backends/image_import.ts";
import { planJson, renderPlan } from "../../lib/plan.ts";
import { host, isNotFound } from "../../host/mod.ts";

/** `image pull URL [--name N] [--sha256 HEX]` */
export async function pullCommand(url: string, o: { name?: string; sha256?: string }) {
  const r = await pullImage(url, dataPaths(), { name: o.name, sha256: o.sha256, progress: true });
  console.log(`${r.downloaded ? "Image cached at" : "Image already cached at"}: ${r.link}`);
  console.log(`  sha256 ${r.entry.sha256}  ${formatBytes(r.entry.size)}`);
}

/** `image import FILE [--url URL] [--name N] [--sha256 HEX] [--dry-run [--json]]` */
export async function importCommand(
  file: string,
  o: { url?: string; name?: string; sha256?: string; dryRun?: boolean; json?: boolean },
) {
  const ctx = opsContext({ dryRun: o.dryRun, json: o.json });
  const p = await importPlan(resolveUserPath(file), ctx.paths, o);
  if (ctx.dryRun) {
    if (ctx.planJson) return printJson({ dry_run: true, ...planJson(p.plan) });
    ctx.say(renderPlan(p.plan));
    return ctx.say("dry run: nothing was changed");
  }
  const { entry, link } = await runImport(p, { forceQuit: ctx.forceQuit });
  console.log(`Image imported at: ${link}`);
  console.log(`  ${entry.url}`);
  console.log(`  sha256 ${entry.sha256}  ${formatBytes(entry.size)}`);
}

/** `image list [--json]` */
export async function listCommand(o: { json?: boolean }) {
  const c = cacheLayout(dataPaths());
  const doc = await readIndex(c);
  const rows = [];
  for (const e of [...doc.images].sort((a, b) => a.name.localeCompare(b.name))) {
    const path = blobPath(c, e.sha256);
    const present = await host.stat(path).then(() => true, () => false);
    rows.push({ ...e, path: join(c.dir, e.name), file: path, present });
  }
  if (o.json) return printJson(rows);
  if (!rows.length) return console.log("No cached images.");
  console.log(formatTable(
    ["NAME", "SIZE", "SHA256", "URL"],
    rows.map((r) => [
      r.name,
      r.present ? formatBytes(r.size) : "(missing)",
      r.sha256.slice(0, 12),
      r.url,
    ]),
  ));
}

/** `image inspect PATH|NAME [--json]` */
export async function inspectCommand(what: string, o: { json?: boolean }) {
  const c = cacheLayout(dataPaths());
  let path = resolveUserPath(what);
  const isFile = await host.stat(path).then((s) => s.isFile, () => false);
  const entry = isFile ? undefined : findEntry(await readIndex(c), what);
  if (!isFile) {
    if (!entry) {
      throw new Diagnostic("vmctl::image::not_found", `no image file or cache entry \`${what}\``, {
        hint: "give a path to a disk image, or a name from `vmctl image list`",
      });
    }
    path = blobPath(c, entry.sha256);
  }
  const info = await imageInfo(createRunner(), path);
  if (o.json) {
    return printJson({
      path,
      format: info.format,
      virtual_size: info.virtualSize,
      actual_size: info.actualSize,
      backing_file: info.backingFile,
      cache: entry ?? null,
      qemu_img: info.raw,
    });
  }
  console.log(`Format:       ${info.format}`);
  console.log(`Path:         ${path}`);
  console.log(`Virtual size: ${formatBytes(info.virtualSize)} (${info.virtualSize} bytes)`);
  if (info.actualSize !== null) console.log(`Disk size:    ${formatBytes(info.actualSize)}`);
  console.log(`Backing file: ${info.backingFile ?? "none"}`);
  if (entry) console.log(`Source:       ${entry.url}\nSHA-256:      ${entry.sha256}`);
}

/** Paths of base images that VMs use (so they are never removed under them). */
async function imagesInUse(): Promise<Map<string, string[]>> {
  const doc = await readStore(dataPaths());
  const used = new Map<string, string[]>();
  for (const vm of Object.values(doc.vms)) {
    if (!vm.image_path) continue;
    used.set(vm.image_path, [...(used.get(vm.image_path) ?? []), vm.name]);
  }
  return used;
}

/** `image rm NAME` */
export async function rmCommand(key: string) {
  const c = cacheLayout(dataPaths());
  const used = await imagesInUse();
  const removed = await updateIndex(c, async (doc) => {
    const e = findEntry(doc, key);
    if (!e) {
      throw new Diagnostic("vmctl::image::not_found", `no cached image \`${key}\``, {
        hint: "see `vmctl image list` for names",
      });
    }
    const blob = blobPath(c, e.sha256);
    const vms = used.get(blob);
    if (vms) {
      throw new Diagnostic(
        "vmctl::image::in_use",
        `image ${e.name} is the base of ${vms.join(", ")}`,
        {
          hint: "destroy those VMs first; their disks are overlays on this file",
        },
      );
    }
    doc.images = doc.images.filter((x) => x !== e);
    if (!doc.images.some((x) => x.sha256 === e.sha256)) await host.remove(blob).catch(() => {});
    const link = join(c.dir, e.name);
    if ((await host.readLink(link).catch(() => "")) === join("store", `${e.sha256}.img`)) {
      await host.remove(link);
    }
    return e;
  });
  console.log(`Removed image ${removed.name} (${removed.url})`);
}

/** Interrupted downloads untouched for this long are considered abandoned. */
const PARTIAL_MAX_AGE_MS = 60 * 60 * 1000;

/** `image prune [--dry-run]` */
export async function pruneCommand(o: { dryRun?: boolean }) {
  const c = cacheLayout(dataPaths());
  const used = await imagesInUse();
  const doc = await readIndex(c);
  const victims = await unreferencedBlobs(c, doc, new Set(used.keys()));
  try {
    for await (const e of host.readDir(c.partialDir)) {
      const p = join(c.partialDir, e.name);
      const st = await host.stat(p);
      if (Date.now() - (st.mtime?.getTime() ?? 0) > PARTIAL_MAX_AGE_MS) victims.push(p);
    }
  } catch (err) {
    if (!(isNotFound(err))) throw err;
  }
  try {
    for await (const e of host.readDir(c.dir)) {
      const p = join(c.dir, e.name);
      if (e.isSymlink && !(await host.stat(p).then(() => true, () => false))) victims.push(p);
    }
  } catch (err) {
    if (!(isNotFound(err))) throw err;
  }
  let bytes = 0;
  for (const p of victims) {
    bytes += (await host.lstat(p)).size;
    if (!o.dryRun) await host.remove(p);
    console.log(`${o.dryRun ? "would remove" : "removed"} ${p}`);
  }
  console.log(`${victims.length} file(s), ${formatBytes(bytes)}${o.dryRun ? " (dry run)" : ""}`);
}
