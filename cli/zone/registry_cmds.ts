/**
 * Actions of `zmgr init` and the pool/template/publisher commands.
 *
 * @module
 */
import { formatCidr, formatIp } from "../../lib/ipam.ts";
import { log } from "../../lib/log.ts";
import { poolUsage } from "../../lib/zones/ledger.ts";
import {
  readPool,
  readPublisher,
  readTemplate,
  type ZoneTemplate,
} from "../../lib/zones/schema.ts";
import {
  createEntity,
  editPool,
  editTemplate,
  initRegistry,
  type PoolEdit,
  poolOverlapWarnings,
  poolText,
  publisherText,
  removeEntity,
  templateText,
} from "../../backends/zones/entities.ts";
import { poolView } from "../../backends/zones/pool_view.ts";
import {
  type EntityKind,
  entityPath,
  loadAll,
  loadAllZones,
  loadConfig,
  loadTemplate,
} from "../../backends/zones/registry.ts";
import { done, out, outJson, registry, showPlan, table, zoneRunner } from "./common.ts";
import type { Plan } from "../../lib/plan.ts";

interface Common {
  root?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Print a registry change's plan (dry run) or, once applied, `line`. */
async function report(planned: Promise<Plan>, opts: Common, line: string): Promise<void> {
  const p = await planned;
  if (opts.dryRun) showPlan(p, opts.json);
  else done(p, opts.json, line);
}

/** `zmgr init`. */
export async function initCmd(
  opts: Common & {
    zonepathRoot?: string;
    pool?: string;
    network?: string;
    gateway?: string;
    range?: string;
    stub?: string;
    dns?: string[];
    sshKey?: string[];
    createDataset?: string;
  },
): Promise<void> {
  const r = await initRegistry(registry(opts), zoneRunner(), {
    zonepathRoot: opts.zonepathRoot,
    sshKeyFiles: opts.sshKey,
    createDataset: opts.createDataset,
    pool: opts.pool
      ? {
        name: opts.pool,
        network: opts.network,
        gateway: opts.gateway,
        range: opts.range,
        stub: opts.stub,
        dns: opts.dns,
      }
      : undefined,
  }, { dryRun: opts.dryRun });
  if (opts.dryRun) return showPlan(r.plan, opts.json, { kept: r.kept });
  if (opts.json) return done(r.plan, true, "");
  for (const p of r.written) out(`wrote ${p}`);
  for (const p of r.kept) out(`kept ${p} (already there)`);
  const ds = r.dataset;
  if (ds.dataset) {
    out(
      `${
        ds.create ? "created ZFS dataset" : "zonepath root is ZFS dataset"
      } ${ds.dataset} (mounted at ${r.zonepathRoot})`,
    );
  } else {
    out(
      `note: ${r.zonepathRoot} is not a ZFS dataset${
        ds.unknown ? ` as far as zfs could tell (${ds.unknown})` : ""
      }; the zone installer needs one: run init again with --create-dataset POOL/zones`,
    );
  }
}

/** `zmgr pool create`. */
export async function poolCreateCmd(
  name: string,
  opts: Common & {
    network: string;
    gateway: string;
    range?: string;
    stub?: string;
    dns?: string[];
    domain?: string;
    reserve?: string[];
  },
): Promise<void> {
  const reg = registry(opts);
  const text = poolText(name, opts);
  for (const w of await poolOverlapWarnings(reg, name, text)) log.warn(w);
  await report(
    createEntity(reg, "pools", name, text, opts),
    opts,
    `created pool ${name} (${entityPath(reg, "pools", name)})`,
  );
}

/** `zmgr pool list`. */
export async function poolListCmd(opts: Common): Promise<void> {
  const reg = registry(opts);
  await loadConfig(reg);
  const pools = await loadAll(reg, "pools", readPool);
  const zones = await loadAllZones(reg);
  const rows = pools.map((p) => ({ p, u: poolUsage(p, zones) }));
  if (opts.json) {
    return outJson(rows.map(({ p, u }) => ({
      name: p.name,
      network: formatCidr(p.network),
      gateway: p.gateway ? formatIp(p.gateway) : null,
      stub: p.stub ?? null,
      size: u.size,
      used: u.used,
      free: u.free,
    })));
  }
  out(table(
    ["NAME", "NETWORK", "GATEWAY", "STUB", "USED", "FREE"],
    rows.map(({ p, u }) => [
      p.name,
      formatCidr(p.network),
      p.gateway ? formatIp(p.gateway) : "-",
      p.stub ?? "-",
      String(u.used),
      String(u.free),
    ]),
  ));
}

/** `zmgr pool show NAME [--live]`: used/free counts, allocations and ledger problems. */
export async function poolShowCmd(
  name: string,
  opts: Common & { live?: boolean },
): Promise<void> {
  const info = await poolView(registry(opts), name, opts.live ? zoneRunner() : undefined);
  if (opts.json) return outJson(info);
  out(`pool ${name}: ${info.network}, gateway ${info.gateway ?? "-"}, stub ${info.stub ?? "-"}`);
  if (info.range) out(`range ${info.range}`);
  if (info.dns.length) {
    out(`dns ${info.dns.join(" ")}${info.domain ? ` (domain ${info.domain})` : ""}`);
  }
  if (info.reserved.length) out(`reserved ${info.reserved.join(" ")}`);
  out(`used ${info.used}, free ${info.free} of ${info.size}`);
  if (info.allocations.length) {
    const rows = info.allocations.map((a) => [a.address, a.zone, a.status]);
    out(table(["ADDRESS", "ZONE", "STATUS"], rows));
  }
  for (const p of info.problems) out(`problem: ${p}`);
}

/** `zmgr pool edit NAME`: flag-driven, comment-preserving. */
export async function poolEditCmd(name: string, opts: Common & PoolEdit): Promise<void> {
  await report(editPool(registry(opts), name, opts, opts), opts, `updated pool ${name}`);
}

/** `zmgr pool|template|publisher rm NAME`. */
export async function entityRmCmd(
  kind: EntityKind,
  name: string,
  opts: Common & { force?: boolean },
): Promise<void> {
  await report(
    removeEntity(registry(opts), kind, name, opts),
    opts,
    `removed ${kind.slice(0, -1)} ${name}`,
  );
}

/** `zmgr template list`. */
export async function templateListCmd(opts: Common): Promise<void> {
  const reg = registry(opts);
  const config = await loadConfig(reg);
  const ts = await loadAll(reg, "templates", readTemplate);
  if (opts.json) {
    return outJson(ts.map((t) => ({ ...t, default: t.name === config.defaultTemplate })));
  }
  out(table(
    ["NAME", "BRAND", "AUTOBOOT", "POOL", "PUBLISHERS"],
    ts.map((t) => [
      t.name + (t.name === config.defaultTemplate ? " (default)" : ""),
      t.brand,
      String(t.autoboot),
      t.pool ?? "-",
      t.publishers.join(",") || "-",
    ]),
  ));
}

/** `zmgr template show NAME`. */
export async function templateShowCmd(name: string, opts: Common): Promise<void> {
  const t = await loadTemplate(registry(opts), name);
  if (opts.json) return outJson(t);
  out(`template ${t.name}: brand ${t.brand}, autoboot ${t.autoboot}, ip-type ${t.ipType}`);
  out(`pool ${t.pool ?? "-"}`);
  out(`publishers ${t.publishers.join(" ") || "-"}`);
}

/** `zmgr template create NAME`. */
export async function templateCreateCmd(
  name: string,
  opts: Common & { brand: string; pool?: string; autoboot?: boolean; publisher?: string[] },
): Promise<void> {
  const t: ZoneTemplate = {
    name,
    brand: opts.brand,
    autoboot: opts.autoboot !== false,
    ipType: "exclusive",
    pool: opts.pool,
    publishers: opts.publisher ?? [],
  };
  const reg = registry(opts);
  await report(
    createEntity(reg, "templates", name, templateText(t), opts),
    opts,
    `created template ${name} (${entityPath(reg, "templates", name)})`,
  );
}

/** `zmgr template edit NAME`. */
export async function templateEditCmd(
  name: string,
  opts: Common & { brand?: string; pool?: string; autoboot?: string; publisher?: string[] },
): Promise<void> {
  await report(
    editTemplate(registry(opts), name, opts, opts),
    opts,
    `updated template ${name}`,
  );
}

/** `zmgr publisher list`. */
export async function publisherListCmd(opts: Common): Promise<void> {
  const reg = registry(opts);
  await loadConfig(reg);
  const ps = await loadAll(reg, "publishers", readPublisher);
  if (opts.json) return outJson(ps);
  out(table(["NAME", "ORIGIN"], ps.map((p) => [p.name, p.origin])));
}

/** `zmgr publisher add NAME ORIGIN`. */
export async function publisherAddCmd(name: string, origin: string, opts: Common): Promise<void> {
  const reg = registry(opts);
  await report(
    createEntity(reg, "publishers", name, publisherText(name, origin), opts),
    opts,
    `added publisher ${name} (${entityPath(reg, "publishers", name)})`,
  );
}
