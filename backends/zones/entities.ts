/**
 * Registry maintenance: `init`, and create/edit/remove of pools, templates
 * and publishers. Edits go through the parsed KDL document (comments and
 * layout kept) and the result is strictly re-read before it replaces the
 * file, so an edit can never leave an invalid file behind.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { pathExists } from "../../lib/files.ts";
import type { Document } from "@bgotink/kdl";
import { formatIp, type IpRange, parseCidr, parseIp } from "../../lib/ipam.ts";
import { poolOverlaps } from "../../lib/zones/ledger.ts";
import { formatDocument, type KdlFile, parseKdl } from "../../lib/zones/kdl.ts";
import { defaultConfigText, defaultTemplateText } from "../../lib/zones/defaults.ts";
import { validateDatasetName, validateEntityName } from "../../lib/zones/names.ts";
import type { Runner } from "../exec.ts";
import { type ZonepathDataset, zonepathDataset } from "./zfs.ts";
import {
  isValidOrigin,
  readConfig,
  readPool,
  readTemplate,
  writePool,
  writePublisher,
  writeTemplate,
} from "../../lib/zones/schema.ts";
import type { ZoneTemplate } from "../../lib/zones/schema.ts";
import {
  atomicWrite,
  ENTITY_KINDS,
  type EntityKind,
  entityPath,
  loadAll,
  loadAllZones,
  loadConfig,
  readKdlFile,
  type Registry,
  removeFile,
  withRegistryLock,
} from "./registry.ts";

/** Flags that describe a pool (`pool create`, `init --pool`). */
export interface PoolFlags {
  network: string;
  gateway: string;
  range?: string;
  stub?: string;
  dns?: string[];
  domain?: string;
  /** Addresses or `FIRST-LAST` ranges never handed out. */
  reserve?: string[];
}

/** Parse the IP address given for `flag`, or throw `zmgr::address::invalid`. */
export function ipArgument(s: string, flag: string): ReturnType<typeof parseIp> & object {
  const a = parseIp(s);
  if (!a) {
    throw new Diagnostic(
      "zmgr::address::invalid",
      `${flag} ${JSON.stringify(s)} is not an IP address`,
      {
        hint: "give a plain address such as 10.0.0.1",
      },
    );
  }
  return a;
}

/** Parse an address or an inclusive `FIRST-LAST` range given for `flag`. */
export function ipRangeArgument(s: string, flag: string): IpRange {
  const parts = s.split("-");
  const first = ipArgument(parts[0], flag);
  const last = parts.length === 2 ? ipArgument(parts[1], flag) : first;
  if (parts.length > 2 || first.family !== last.family || first.value > last.value) {
    throw new Diagnostic(
      "zmgr::pool::bad_range",
      `${flag} ${JSON.stringify(s)} is not an address or a FIRST-LAST range`,
      { hint: `e.g. ${flag} 10.0.0.5 or ${flag} 10.0.0.20-10.0.0.29 (lower address first)` },
    );
  }
  return { first, last };
}

/** Build and strictly check a pool file from command-line flags. */
export function poolText(name: string, f: PoolFlags): string {
  validateEntityName(name, "pool");
  const network = parseCidr(f.network);
  if (!network) {
    throw new Diagnostic(
      "zmgr::pool::bad_network",
      `--network ${JSON.stringify(f.network)} is not a CIDR`,
      {
        hint: "e.g. --network 10.0.0.0/24 or --network 2001:db8::/64",
      },
    );
  }
  let range: [string, string] | undefined;
  if (f.range) {
    const parts = f.range.split("-");
    if (parts.length !== 2) {
      throw new Diagnostic(
        "zmgr::pool::bad_range",
        `--range ${JSON.stringify(f.range)} is not START-END`,
        {
          hint: "e.g. --range 10.0.0.10-10.0.0.200",
        },
      );
    }
    range = [
      formatIp(ipArgument(parts[0], "--range start")),
      formatIp(ipArgument(parts[1], "--range end")),
    ];
  }
  const text = writePool({
    name,
    network,
    gateway: ipArgument(f.gateway, "--gateway"),
    rangeStart: range ? parseIp(range[0]) : undefined,
    rangeEnd: range ? parseIp(range[1]) : undefined,
    reserved: (f.reserve ?? []).map((r) => ipRangeArgument(r, "--reserve")),
    stub: f.stub,
    dns: (f.dns ?? []).map((d) => ipArgument(d, "--dns")),
    domain: f.domain,
  });
  // The same strict reader as for hand-written files decides what is valid.
  readPool(parseKdl(text, `pools/${name}.kdl`), name);
  return text;
}

/** What `init` wrote and what it left alone. */
export interface InitResult {
  written: string[];
  kept: string[];
  /** The zonepath root of the config.kdl in place afterwards (an existing one is kept). */
  zonepathRoot: string;
  dataset: ZonepathDataset;
}

/**
 * Write the registry skeleton (existing files are kept, so init is
 * idempotent), then look for (or, with `createDataset`, create) the zonepath
 * root's ZFS dataset. A failure there removes the files this run wrote.
 */
export async function initRegistry(
  reg: Registry,
  opts: {
    zonepathRoot?: string;
    sshKeys?: string[];
    pool?: { name: string } & PoolFlags;
    runner: Runner;
    createDataset?: string;
  },
): Promise<InitResult> {
  const zonepathRoot = (opts.zonepathRoot ?? "/zones").replace(/\/+$/, "") || "/";
  const config = defaultConfigText(zonepathRoot, "ipkg", opts.sshKeys ?? []);
  readConfig(parseKdl(config, "config.kdl")); // validates --zonepath-root and --ssh-key
  const files: [string, string][] = [[reg.configFile, config]];
  for (const brand of ["ipkg", "nlipkg"] as const) {
    files.push([entityPath(reg, "templates", brand), defaultTemplateText(brand, opts.pool?.name)]);
  }
  if (opts.pool) {
    files.push([entityPath(reg, "pools", opts.pool.name), poolText(opts.pool.name, opts.pool)]);
  }
  await Deno.mkdir(reg.root, { recursive: true, mode: 0o755 });
  for (const k of ENTITY_KINDS) await Deno.mkdir(reg.dirs[k], { recursive: true, mode: 0o755 });
  if (opts.createDataset) validateDatasetName(opts.createDataset);
  const result: Omit<InitResult, "dataset"> = { written: [], kept: [], zonepathRoot };
  await withRegistryLock(reg, async () => {
    for (const [path, text] of files) {
      if (await pathExists(path)) result.kept.push(path);
      else {
        await atomicWrite(path, text);
        result.written.push(path);
      }
    }
  });
  // A config.kdl kept from an earlier init decides where zonepaths go.
  result.zonepathRoot = (await loadConfig(reg)).zonepathRoot;
  try {
    const dataset = await zonepathDataset(opts.runner, result.zonepathRoot, opts.createDataset);
    return { ...result, dataset };
  } catch (err) {
    for (const p of result.written) await removeFile(p);
    throw err;
  }
}

/** Warnings for each existing pool whose network shares addresses with the new pool's. */
export async function poolOverlapWarnings(
  reg: Registry,
  name: string,
  text: string,
): Promise<string[]> {
  const pool = readPool(parseKdl(text, `pools/${name}.kdl`), name);
  const others = (await loadAll(reg, "pools", readPool)).filter((p) => p.name !== name);
  return poolOverlaps(pool, others);
}

/** Create a new entity file; refuses to overwrite. */
export async function createEntity(
  reg: Registry,
  kind: EntityKind,
  name: string,
  text: string,
  dryRun = false,
): Promise<string> {
  await loadConfig(reg);
  const path = entityPath(reg, kind, name);
  const create = async () => {
    if (await pathExists(path)) {
      const what = kind.slice(0, -1);
      throw new Diagnostic(`zmgr::${what}::exists`, `${what} ${name} already exists`, {
        hint: `edit it with \`zmgr ${what} edit ${name}\` or remove it first`,
      });
    }
    if (!dryRun) await atomicWrite(path, text);
  };
  if (dryRun) await create();
  else await withRegistryLock(reg, create);
  return path;
}

/**
 * Edit an entity in place: `mutate` changes the parsed document, `check`
 * strictly re-reads the result; only a valid result replaces the file.
 */
export async function editEntity(
  reg: Registry,
  kind: EntityKind,
  name: string,
  mutate: (doc: Document) => void,
  check: (file: KdlFile, name: string) => unknown,
  dryRun = false,
): Promise<string> {
  const path = entityPath(reg, kind, name);
  return await withRegistryLock(reg, async () => {
    const file = await readKdlFile(path);
    if (!file) {
      const what = kind.slice(0, -1);
      throw new Diagnostic(`zmgr::${what}::not_found`, `no ${what} named ${name}`, {
        hint: `list them with \`zmgr ${what} list\``,
      });
    }
    mutate(file.doc);
    const text = formatDocument(file.doc);
    check(parseKdl(text, path), name);
    if (!dryRun) await atomicWrite(path, text);
    return text;
  });
}

/** Who still refers to an entity (zones, templates, the config). */
export async function referencesTo(
  reg: Registry,
  kind: EntityKind,
  name: string,
): Promise<string[]> {
  const refs: string[] = [];
  if (kind === "pools" || kind === "templates") {
    for (const z of await loadAllZones(reg)) {
      if ((kind === "pools" ? z.pool : z.template) === name) refs.push(`zone ${z.name}`);
    }
  }
  if (kind === "pools" || kind === "publishers") {
    for (const t of await loadAll(reg, "templates", readTemplate)) {
      if (kind === "pools" ? t.pool === name : t.publishers.includes(name)) {
        refs.push(`template ${t.name}`);
      }
    }
  }
  if (kind === "templates" && (await loadConfig(reg)).defaultTemplate === name) {
    refs.push("config.kdl (default-template)");
  }
  return refs;
}

/** Remove an entity; refuses while something refers to it unless `force`. */
export async function removeEntity(
  reg: Registry,
  kind: EntityKind,
  name: string,
  opts: { force?: boolean; dryRun?: boolean } = {},
): Promise<string> {
  const path = entityPath(reg, kind, name);
  const what = kind.slice(0, -1);
  const refs = await referencesTo(reg, kind, name);
  if (refs.length && !opts.force) {
    throw new Diagnostic(
      `zmgr::${what}::in_use`,
      `${what} ${name} is still used by ${refs.join(", ")}`,
      {
        hint: "change those first, or pass --force to remove it anyway",
      },
    );
  }
  const removed = opts.dryRun
    ? await pathExists(path)
    : await withRegistryLock(reg, () => removeFile(path));
  if (!removed) {
    throw new Diagnostic(`zmgr::${what}::not_found`, `no ${what} named ${name}`, {
      hint: `list them with \`zmgr ${what} list\``,
    });
  }
  return path;
}

/** Text of a new template from flags, strictly checked. */
export function templateText(t: ZoneTemplate): string {
  validateEntityName(t.name, "template");
  const text = writeTemplate(t);
  readTemplate(parseKdl(text, `templates/${t.name}.kdl`), t.name);
  return text;
}

/** Text of a new publisher, checked. */
export function publisherText(name: string, origin: string): string {
  validateEntityName(name, "publisher");
  if (!isValidOrigin(origin)) {
    throw new Diagnostic(
      "zmgr::publisher::bad_origin",
      `origin ${JSON.stringify(origin)} is not an http(s) or file URL`,
      {
        hint: "e.g. https://pkg.openindiana.org/hipster",
      },
    );
  }
  return writePublisher({ name, origin });
}
