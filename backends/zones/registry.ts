/**
 * The zone registry on disk: /etc/zmgr (or --root / ZMGR_ROOT) with
 * config.kdl and one file per template, pool, zone and publisher. Writes are
 * atomic (temp file, fsync, rename); read-allocate-reserve runs under an
 * exclusive lock on ROOT/.lock.
 *
 * @module
 */
import { dirname, join } from "../../lib/posix_path.ts";
import { withFileLock, writeAtomic } from "../../lib/files.ts";
import { Diagnostic, didYouMean } from "../../lib/diagnostics.ts";
import { env, resolveUserPath } from "../../lib/paths.ts";
import type { Step, Undo } from "../../lib/plan.ts";
import { NOTHING_TO_UNDO, storeStep, writeStep } from "../apply.ts";
import { parseKdl, readKdlText } from "../../lib/zones/kdl.ts";
import type { KdlFile } from "../../lib/zones/kdl.ts";
import { validateEntityName, validateZoneName } from "../../lib/zones/names.ts";
import {
  type Pool,
  type Publisher,
  readConfig,
  readPool,
  readPublisher,
  readTemplate,
  readZoneEntry,
  type ZoneConfig,
  type ZoneEntry,
  type ZoneTemplate,
} from "../../lib/zones/schema.ts";
import { host, isNotFound } from "../../host/mod.ts";
import type { DirEntry } from "../../host/mod.ts";

/** The default registry root. */
export const DEFAULT_ROOT = "/etc/zmgr";

/** Where each kind of registry file lives. */
export interface Registry {
  root: string;
  configFile: string;
  lockFile: string;
  dirs: Record<EntityKind, string>;
}

export type EntityKind = "templates" | "pools" | "zones" | "publishers";
export const ENTITY_KINDS: EntityKind[] = ["templates", "pools", "zones", "publishers"];

const SINGULAR: Record<EntityKind, string> = {
  templates: "template",
  pools: "pool",
  zones: "zone",
  publishers: "publisher",
};

/** Registry root: `--root`, else $ZMGR_ROOT, else /etc/zmgr. */
export function registryAt(rootFlag?: string): Registry {
  const raw = rootFlag ?? env("ZMGR_ROOT") ?? DEFAULT_ROOT;
  const root = resolveUserPath(raw);
  return {
    root,
    configFile: join(root, "config.kdl"),
    lockFile: join(root, ".lock"),
    dirs: {
      templates: join(root, "templates"),
      pools: join(root, "pools"),
      zones: join(root, "zones"),
      publishers: join(root, "publishers"),
    },
  };
}

/** Path of entity `name` of `kind` (the name is validated first). */
export function entityPath(reg: Registry, kind: EntityKind, name: string): string {
  if (kind === "zones") validateZoneName(name);
  else validateEntityName(name, SINGULAR[kind]);
  return join(reg.dirs[kind], `${name}.kdl`);
}

/** Read and parse a KDL file; undefined when it does not exist. */
export async function readKdlFile(path: string): Promise<KdlFile | undefined> {
  let text: string;
  try {
    text = await host.readTextFile(path);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return parseKdl(text, path);
}

/** Names of the entities of `kind` (file names without .kdl), sorted. */
export async function listEntityNames(reg: Registry, kind: EntityKind): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of host.readDir(reg.dirs[kind])) {
      if (e.isFile && e.name.endsWith(".kdl") && !e.name.startsWith(".")) {
        names.push(e.name.slice(0, -4));
      }
    }
  } catch (err) {
    if (!(isNotFound(err))) throw err;
  }
  return names.sort();
}

/** config.kdl; a missing one means the registry was never initialised. */
export async function loadConfig(reg: Registry): Promise<ZoneConfig> {
  const file = await readKdlFile(reg.configFile);
  if (!file) {
    throw new Diagnostic("zmgr::registry::not_initialized", `no zmgr registry at ${reg.root}`, {
      hint:
        "run `zmgr init` (or `vmctl zone init`) first, or point --root / ZMGR_ROOT at the registry",
    });
  }
  return readConfig(file);
}

async function loadEntity<T>(
  reg: Registry,
  kind: EntityKind,
  name: string,
  read: (f: KdlFile, name: string) => T,
): Promise<T> {
  const file = await readKdlFile(entityPath(reg, kind, name));
  if (!file) {
    const known = await listEntityNames(reg, kind);
    const what = SINGULAR[kind];
    throw new Diagnostic(`zmgr::${what}::not_found`, `no ${what} named ${name}`, {
      hint: known.length
        ? didYouMean(name, known)
        : `create one with \`zmgr ${what === "zone" ? "create" : `${what} create`}\``,
    });
  }
  return read(file, name);
}

export const loadTemplate = (reg: Registry, name: string): Promise<ZoneTemplate> =>
  loadEntity(reg, "templates", name, readTemplate);
export const loadPool = (reg: Registry, name: string): Promise<Pool> =>
  loadEntity(reg, "pools", name, readPool);
export const loadPublisher = (reg: Registry, name: string): Promise<Publisher> =>
  loadEntity(reg, "publishers", name, readPublisher);
export const loadZone = (reg: Registry, name: string): Promise<ZoneEntry> =>
  loadEntity(reg, "zones", name, readZoneEntry);

/**
 * Every entity of a kind, strictly read (a broken file stops the command).
 * Synchronous reads: with 10,000 small zone files they are several times
 * faster than awaiting each read.
 */
export function loadAll<T>(
  reg: Registry,
  kind: EntityKind,
  read: (f: KdlFile, name: string) => T,
): Promise<T[]> {
  const out: T[] = [];
  let entries: DirEntry[];
  try {
    entries = [...host.readDirSync(reg.dirs[kind])];
  } catch (err) {
    if (isNotFound(err)) return Promise.resolve(out);
    throw err;
  }
  const names = entries
    .filter((e) => e.isFile && e.name.endsWith(".kdl") && !e.name.startsWith("."))
    .map((e) => e.name.slice(0, -4))
    .sort();
  for (const name of names) {
    const path = join(reg.dirs[kind], `${name}.kdl`);
    let text: string;
    try {
      text = host.readTextFileSync(path);
    } catch (err) {
      if (isNotFound(err)) continue; // removed meanwhile (no lock held)
      throw err;
    }
    out.push(readKdlText(text, path, (f) => read(f, name)));
  }
  return Promise.resolve(out);
}

/** Every zone entry (the IPAM ledger). */
export const loadAllZones = (reg: Registry): Promise<ZoneEntry[]> =>
  loadAll(reg, "zones", readZoneEntry);

/** Write `text` to `path` atomically (lib/files.ts writeAtomic), creating its directory. */
export async function atomicWrite(path: string, text: string, mode = 0o644): Promise<void> {
  await host.mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeAtomic(path, text, { mode });
}

/** Remove a registry file; true when it existed. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await host.remove(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Run `fn` holding the registry's exclusive lock (ROOT/.lock, see lib/files.ts withFileLock). */
export async function withRegistryLock<T>(reg: Registry, fn: () => Promise<T>): Promise<T> {
  try {
    await host.stat(dirname(reg.lockFile));
  } catch (err) {
    if (isNotFound(err)) {
      throw new Diagnostic("zmgr::registry::not_initialized", `no zmgr registry at ${reg.root}`, {
        hint: "run `zmgr init` first, or point --root / ZMGR_ROOT at the registry",
      });
    }
    throw err;
  }
  return await withFileLock(reg.lockFile, fn);
}

/** A step changing registry file `path` (shown as a store change); `run` holds the registry lock. */
export function registryStep(
  reg: Registry,
  title: string,
  path: string,
  change: string,
  run: () => Promise<unknown>,
  undo?: Undo,
): Step {
  return storeStep(title, path, change, () => withRegistryLock(reg, run), undo);
}

/**
 * A step writing registry file `path` (its text shown) atomically under the
 * lock; `check` runs first under the lock and throws when the registry
 * changed since the plan was made.
 */
export function registryWriteStep(
  reg: Registry,
  title: string,
  path: string,
  text: string,
  check: () => Promise<void> = () => Promise.resolve(),
  undo?: Undo,
): Step {
  return writeStep(title, { path, mode: 0o644, text }, () =>
    withRegistryLock(reg, async () => {
      await check();
      await atomicWrite(path, text);
    }), undo);
}

/** The undo removing registry file `path` under the lock; nothing to undo when it is gone. */
export function registryRemoveUndo(reg: Registry, path: string, change: string): Undo {
  return {
    action: { kind: "store", file: path, change },
    run: async () =>
      await withRegistryLock(reg, () => removeFile(path)) ? undefined : NOTHING_TO_UNDO,
  };
}

/** Refuse when `path` appeared or changed since the plan read it (`before`: its text, or null). */
export async function unchangedSincePlan(path: string, before: string | null): Promise<void> {
  let now: string | null = null;
  try {
    now = await host.readTextFile(path);
  } catch (err) {
    if (!(isNotFound(err))) throw err;
  }
  if (now === before) return;
  throw new Diagnostic(
    "zmgr::registry::changed",
    `${path} ${before === null ? "appeared" : "changed"} while this command was prepared`,
    { hint: "another zmgr changed the registry meanwhile; run the command again" },
  );
}
