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
import { formatIp, formatIpRange, type IpRange, parseCidr, parseIp } from "../../lib/ipam.ts";
import { poolOverlaps } from "../../lib/zones/ledger.ts";
import { addNode, formatDocument, type KdlFile, parseKdl, setNode } from "../../lib/zones/kdl.ts";
import { resolveUserPath } from "../../lib/paths.ts";
import { type Plan, plan, type Step } from "../../lib/plan.ts";
import { apply } from "../apply.ts";
import type { Runner } from "../exec.ts";
import { AS_IS } from "./system.ts";
import { defaultConfigText, defaultTemplateText } from "../../lib/zones/defaults.ts";
import { validateEntityName } from "../../lib/zones/names.ts";
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
  ENTITY_KINDS,
  type EntityKind,
  entityPath,
  loadAll,
  loadAllZones,
  loadConfig,
  loadPool,
  type Registry,
  registryRemoveUndo,
  registryWriteStep,
  removeFile,
  unchangedSincePlan,
  withRegistryLock,
} from "./registry.ts";
import { host, isNotFound } from "../../host/mod.ts";

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
    const parts = rangeParts(f.range);
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

/** What `zmgr init` is asked for. */
export interface InitRequest {
  zonepathRoot?: string;
  /** Public key files whose keys are authorised for root in new zones. */
  sshKeyFiles?: string[];
  /** A first pool; needs `network` and `gateway`. */
  pool?: { name: string } & Partial<PoolFlags>;
  /** The ZFS dataset to create at the zonepath root when none is mounted there. */
  createDataset?: string;
}

/** Init's plan, the files it writes and leaves alone, and the zonepath root's dataset. */
export interface InitResult {
  plan: Plan;
  written: string[];
  kept: string[];
  /** The zonepath root of the config.kdl in place afterwards (an existing one is kept). */
  zonepathRoot: string;
  dataset: ZonepathDataset;
}

/**
 * Write the registry skeleton; existing files are kept, so init is
 * idempotent. A failure removes the files this init wrote.
 */
export async function initRegistry(
  reg: Registry,
  runner: Runner,
  req: InitRequest,
  opts: { dryRun?: boolean } = {},
): Promise<InitResult> {
  const pool = initPool(req.pool);
  const sshKeys = await readSshKeys(req.sshKeyFiles ?? []);
  const zonepathRoot = (req.zonepathRoot ?? "/zones").replace(/\/+$/, "") || "/";
  const config = defaultConfigText(zonepathRoot, "ipkg", sshKeys);
  readConfig(parseKdl(config, "config.kdl")); // validates --zonepath-root and --ssh-key
  const files: [string, string][] = [[reg.configFile, config]];
  for (const brand of ["ipkg", "nlipkg"] as const) {
    files.push([entityPath(reg, "templates", brand), defaultTemplateText(brand, pool?.name)]);
  }
  if (pool) files.push([entityPath(reg, "pools", pool.name), poolText(pool.name, pool)]);
  const steps: Step[] = [];
  for (const dir of [reg.root, ...ENTITY_KINDS.map((k) => reg.dirs[k])]) {
    if (!await pathExists(dir)) steps.push(mkdirStep(dir));
  }
  const result = { written: [] as string[], kept: [] as string[], zonepathRoot };
  for (const [path, text] of files) {
    if (await pathExists(path)) {
      result.kept.push(path);
      continue;
    }
    result.written.push(path);
    steps.push(registryWriteStep(
      reg,
      `write ${path.slice(reg.root.length + 1)}`,
      path,
      text,
      () => unchangedSincePlan(path, null),
      registryRemoveUndo(reg, path, "remove it"),
    ));
  }
  // A config.kdl kept from an earlier init decides where zonepaths go.
  if (result.kept.includes(reg.configFile)) {
    result.zonepathRoot = (await loadConfig(reg)).zonepathRoot;
  }
  const dataset = await zonepathDataset(runner, result.zonepathRoot, req.createDataset);
  if (dataset.create) steps.push(dataset.create);
  const p = plan(`initialise the zone registry ${reg.root}`, steps);
  if (!opts.dryRun) await apply(p, AS_IS);
  return { ...result, plan: p, dataset };
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

function mkdirStep(path: string): Step {
  return {
    title: `make directory ${path}`,
    action: { kind: "mkdir", path, mode: 0o755 },
    run: () => host.mkdir(path, { recursive: true, mode: 0o755 }),
  };
}

function initPool(pool: InitRequest["pool"]): ({ name: string } & PoolFlags) | undefined {
  if (!pool) return undefined;
  const { network, gateway } = pool;
  if (!network || !gateway) {
    throw new Diagnostic("zmgr::init::pool_incomplete", "--pool needs --network and --gateway", {
      hint: "e.g. zmgr init --pool default --network 10.0.0.0/24 --gateway 10.0.0.1 --stub igb0",
      exitCode: 2,
    });
  }
  return { ...pool, network, gateway };
}

/** The public keys in `files` (comments and blank lines left out). */
async function readSshKeys(files: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const f of files) {
    const path = resolveUserPath(f);
    let text: string;
    try {
      text = await host.readTextFile(path);
    } catch (err) {
      throw new Diagnostic("zmgr::init::ssh_key_unreadable", `cannot read --ssh-key ${path}`, {
        hint: "give the public key file, e.g. ~/.ssh/id_ed25519.pub",
        cause: err,
      });
    }
    keys.push(...text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")));
  }
  return keys;
}

/** Create a new entity file; refuses to overwrite (with `dryRun`, only plan it). */
export async function createEntity(
  reg: Registry,
  kind: EntityKind,
  name: string,
  text: string,
  opts: { dryRun?: boolean } = {},
): Promise<Plan> {
  await loadConfig(reg);
  const path = entityPath(reg, kind, name);
  const refuseExisting = async () => {
    if (!await pathExists(path)) return;
    const what = kind.slice(0, -1);
    throw new Diagnostic(`zmgr::${what}::exists`, `${what} ${name} already exists`, {
      hint: `edit it with \`zmgr ${what} edit ${name}\` or remove it first`,
    });
  };
  await refuseExisting();
  const title = `create ${kind.slice(0, -1)} ${name}`;
  const p = plan(title, [registryWriteStep(reg, title, path, text, refuseExisting)]);
  if (!opts.dryRun) await apply(p, AS_IS);
  return p;
}

/**
 * Edit an entity in place: `mutate` changes the parsed document, `check`
 * strictly re-reads the result; only a valid result replaces the file, and
 * only if nobody changed it meanwhile (with `dryRun`, only plan it).
 */
export async function editEntity(
  reg: Registry,
  kind: EntityKind,
  name: string,
  mutate: (doc: Document) => void,
  check: (file: KdlFile, name: string) => unknown,
  opts: { dryRun?: boolean } = {},
): Promise<Plan> {
  const path = entityPath(reg, kind, name);
  const what = kind.slice(0, -1);
  const before = await readTextIfExists(path);
  if (before === null) throw notFound(kind, name);
  const file = parseKdl(before, path);
  mutate(file.doc);
  const text = formatDocument(file.doc);
  check(parseKdl(text, path), name);
  const title = `update ${what} ${name}`;
  const p = plan(title, [
    registryWriteStep(reg, title, path, text, () => unchangedSincePlan(path, before)),
  ]);
  if (!opts.dryRun) await apply(p, AS_IS);
  return p;
}

async function readTextIfExists(path: string): Promise<string | null> {
  try {
    return await host.readTextFile(path);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

function notFound(kind: EntityKind, name: string): Diagnostic {
  const what = kind.slice(0, -1);
  return new Diagnostic(`zmgr::${what}::not_found`, `no ${what} named ${name}`, {
    hint: `list them with \`zmgr ${what} list\``,
  });
}

/** The flags of `zmgr pool edit`. */
export interface PoolEdit {
  gateway?: string;
  range?: string;
  stub?: string;
  dns?: string[];
  domain?: string;
  reserve?: string[];
  unreserve?: string[];
}

/** Edit pool `name` from flags, comments kept (with `dryRun`, only plan it). */
export async function editPool(
  reg: Registry,
  name: string,
  f: PoolEdit,
  opts: { dryRun?: boolean } = {},
): Promise<Plan> {
  const canon = (s: string, flag: string) => formatIpRange(ipRangeArgument(s, flag));
  const unreserve = new Set((f.unreserve ?? []).map((u) => canon(u, "--unreserve")));
  const current = await loadPool(reg, name);
  return await editEntity(
    reg,
    "pools",
    name,
    (doc) => {
      if (f.gateway !== undefined) setNode(doc, "gateway", [f.gateway]);
      if (f.range === "none") setNode(doc, "range", []);
      else if (f.range !== undefined) {
        setNode(doc, "range", rangeParts(f.range, ", or --range none"));
      }
      if (f.stub !== undefined) setNode(doc, "stub", [f.stub]);
      if (f.dns !== undefined) setNode(doc, "dns", f.dns);
      if (f.domain !== undefined) setNode(doc, "domain", [f.domain]);
      if (unreserve.size) {
        setNode(
          doc,
          "reserve",
          current.reserved.map(formatIpRange).filter((r) => !unreserve.has(r)),
        );
      }
      for (const r of f.reserve ?? []) addNode(doc, "reserve", [canon(r, "--reserve")]);
    },
    readPool,
    opts,
  );
}

/** `--range START-END` split, or `zmgr::pool::bad_range`. */
function rangeParts(range: string, hintTail = ""): [string, string] {
  const parts = range.split("-");
  if (parts.length !== 2) {
    throw new Diagnostic(
      "zmgr::pool::bad_range",
      `--range ${JSON.stringify(range)} is not START-END`,
      { hint: `e.g. --range 10.0.0.10-10.0.0.200${hintTail}` },
    );
  }
  return [parts[0], parts[1]];
}

/** The flags of `zmgr template edit`. */
export interface TemplateEdit {
  brand?: string;
  pool?: string;
  autoboot?: string;
  publisher?: string[];
}

/** Edit template `name` from flags, comments kept (with `dryRun`, only plan it). */
export async function editTemplate(
  reg: Registry,
  name: string,
  f: TemplateEdit,
  opts: { dryRun?: boolean } = {},
): Promise<Plan> {
  if (f.autoboot !== undefined && f.autoboot !== "true" && f.autoboot !== "false") {
    throw new Diagnostic(
      "zmgr::template::bad_autoboot",
      `--autoboot ${JSON.stringify(f.autoboot)} is not true or false`,
      { hint: "use --autoboot true or --autoboot false", exitCode: 2 },
    );
  }
  return await editEntity(
    reg,
    "templates",
    name,
    (doc) => {
      if (f.brand !== undefined) setNode(doc, "brand", [f.brand]);
      if (f.pool !== undefined) setNode(doc, "pool", f.pool === "none" ? [] : [f.pool]);
      if (f.autoboot !== undefined) setNode(doc, "autoboot", [f.autoboot === "true"]);
      if (f.publisher !== undefined) {
        setNode(doc, "publisher", []);
        for (const p of f.publisher.filter((p) => p !== "none")) addNode(doc, "publisher", [p]);
      }
    },
    readTemplate,
    opts,
  );
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

/** Remove an entity; refuses while something refers to it unless `force` (with `dryRun`, only plan it). */
export async function removeEntity(
  reg: Registry,
  kind: EntityKind,
  name: string,
  opts: { force?: boolean; dryRun?: boolean } = {},
): Promise<Plan> {
  await loadConfig(reg);
  const path = entityPath(reg, kind, name);
  const what = kind.slice(0, -1);
  const refs = await referencesTo(reg, kind, name);
  if (refs.length && !opts.force) {
    throw new Diagnostic(
      `zmgr::${what}::in_use`,
      `${what} ${name} is still used by ${refs.join(", ")}`,
      { hint: "change those first, or pass --force to remove it anyway" },
    );
  }
  if (!await pathExists(path)) throw notFound(kind, name);
  const p = plan(`remove ${what} ${name}`, [{
    title: `remove ${what} ${name}`,
    action: { kind: "remove", path },
    run: () =>
      withRegistryLock(reg, async () => {
        if (!await removeFile(path)) throw notFound(kind, name);
      }),
  }]);
  if (!opts.dryRun) await apply(p, AS_IS);
  return p;
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
