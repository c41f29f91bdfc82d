/**
 * `zmgr import`: register zones that exist on the system but not in the
 * registry. bhyve and kvm zones are vm-manager's and are skipped. The template is
 * matched by brand (a template named like the brand wins), the pool by
 * network containment of the zone's allowed-address. A zone whose brand no
 * template has is NOT registered (add a template and import again); a zone
 * whose address no pool contains is registered without a pool, its address
 * still counted as used. Idempotent.
 *
 * @module
 */
import { cidrContains, formatIp, parseCidr, parseIp } from "../../lib/ipam.ts";
import { log } from "../../lib/log.ts";
import { LINK_NAME, ZONE_NAME } from "../../lib/zones/names.ts";
import {
  type Pool,
  readPool,
  readTemplate,
  UNSUPPORTED_BRANDS,
  writeZoneEntry,
  type ZoneEntry,
  type ZoneTemplate,
} from "../../lib/zones/schema.ts";
import { netAddresses, type ZonecfgInfo, type ZoneListEntry } from "../../lib/zones/zonecfg.ts";
import type { Runner } from "../exec.ts";
import { apply, NOTHING_TO_UNDO } from "../apply.ts";
import { pathExists } from "../../lib/files.ts";
import { type Plan, plan, type Step } from "../../lib/plan.ts";
import {
  atomicWrite,
  entityPath,
  loadAll,
  loadAllZones,
  type Registry,
  registryRemoveUndo,
  registryStep,
} from "./registry.ts";
import { listSystemZones, zonecfgInfo } from "./system.ts";

/** What import did for one zone. */
export interface ImportOutcome {
  name: string;
  action: "imported" | "skipped" | "unmatched";
  reason?: string;
  template?: string;
  pool?: string;
  addresses?: string[];
}

/** Brands whose zones are virtual machines, not zmgr's to register. */
const VM_BRANDS = ["bhyve", "kvm"];

/**
 * The addresses to record for a zone: each written address in CIDR form (an
 * address without a prefix takes the prefix of the pool that contains it, or
 * is unusable without one), and the pool of the first address a pool holds.
 */
function ledgerAddresses(
  written: string[],
  pools: Pool[],
): { cidrs: string[]; unusable: string[]; pool?: Pool } {
  const cidrs: string[] = [];
  const unusable: string[] = [];
  let pool: Pool | undefined;
  for (const raw of written) {
    const ip = parseIp(raw.split("/")[0]);
    const home = ip ? pools.find((p) => cidrContains(p.network, ip)) : undefined;
    pool ??= home;
    const cidr = raw.includes("/")
      ? parseCidr(raw)
      : home
      ? parseCidr(`${raw}/${home.network.prefix}`)
      : undefined;
    if (!cidr) {
      unusable.push(raw);
      continue;
    }
    const text = `${formatIp({ family: cidr.family, value: cidr.addr })}/${cidr.prefix}`;
    if (!cidrs.includes(text)) cidrs.push(text);
  }
  return { cidrs, unusable, pool };
}

/** Import every unregistered zone that is not a virtual machine (with `dryRun`, only plan it). */
export async function importZones(
  reg: Registry,
  runner: Runner,
  opts: { dryRun?: boolean } = {},
): Promise<{ outcomes: ImportOutcome[]; plan: Plan }> {
  const templates = await loadAll(reg, "templates", readTemplate);
  const pools = await loadAll(reg, "pools", readPool);
  const system = await listSystemZones(runner);
  const registered = new Set((await loadAllZones(reg)).map((z) => z.name));
  const out: ImportOutcome[] = [];
  const toWrite: ZoneEntry[] = [];
  for (const z of system) {
    if (z.name === "global") continue;
    const chosen = templateFor(z, registered, templates);
    if ("skip" in chosen) {
      out.push(chosen.skip);
      continue;
    }
    const found = entryFor(z, chosen.template, await zonecfgInfo(runner, z.name), pools);
    out.push(found.outcome);
    if (found.entry) toWrite.push(found.entry);
  }
  for (const o of out) if (o.action === "unmatched") log.debug(`import: ${o.name}: ${o.reason}`);
  const p = plan("import zones", toWrite.map((e) => registerStep(reg, e)));
  if (!opts.dryRun) await apply(p);
  return { outcomes: out, plan: p };
}

/** Why system zone `z` is not imported, or the template it is imported with. */
function templateFor(
  z: ZoneListEntry,
  registered: Set<string>,
  templates: ZoneTemplate[],
): { skip: ImportOutcome } | { template: ZoneTemplate } {
  const skip = (action: ImportOutcome["action"], reason: string) => ({
    skip: { name: z.name, action, reason },
  });
  if (registered.has(z.name)) return skip("skipped", "already registered");
  if (VM_BRANDS.includes(z.brand)) {
    return skip("skipped", `${z.brand} zones are virtual machines, managed by vmctl/vm-manager`);
  }
  if (!ZONE_NAME.test(z.name)) return skip("unmatched", "the zone name is not one zmgr can manage");
  if (UNSUPPORTED_BRANDS[z.brand]) return skip("unmatched", UNSUPPORTED_BRANDS[z.brand]);
  const template = templates.find((t) => t.name === z.brand && t.brand === z.brand) ??
    templates.find((t) => t.brand === z.brand);
  if (template) return { template };
  return skip(
    "unmatched",
    `no template has brand ${z.brand}; create one (zmgr template create NAME --brand ${z.brand}) and import again`,
  );
}

/** The registry entry for system zone `z` from its zonecfg `info`, and what import says of it. */
function entryFor(
  z: ZoneListEntry,
  template: ZoneTemplate,
  info: ZonecfgInfo,
  pools: Pool[],
): { outcome: ImportOutcome; entry?: ZoneEntry } {
  const held = ledgerAddresses(netAddresses(info), pools);
  const pool = held.pool;
  const net = info.nets.find((n) => n.defrouter) ?? info.nets[0];
  const zonepath = info.zonepath ?? z.zonepath;
  if (!/^\/[A-Za-z0-9_.\/-]*$/.test(zonepath)) {
    const reason = `zonepath ${JSON.stringify(zonepath)} has characters zmgr does not accept`;
    return { outcome: { name: z.name, action: "unmatched", reason } };
  }
  // A shared-IP zone's net names the host's own NIC, not a VNIC of the zone.
  const exclusive = (info.ipType ?? z.ipType) !== "shared" && z.ipType !== "shared";
  const entry: ZoneEntry = {
    name: z.name,
    brand: z.brand,
    template: template.name,
    pool: pool?.name,
    addresses: held.cidrs,
    gateway: net?.defrouter && parseIp(net.defrouter) ? net.defrouter : undefined,
    vnic: exclusive && net?.physical && LINK_NAME.test(net.physical) ? net.physical : undefined,
    zonepath,
    status: "active",
    imported: true,
    created: new Date().toISOString(),
  };
  const outcome: ImportOutcome = {
    name: z.name,
    action: "imported",
    reason: addressNotes(held, pool),
    template: template.name,
    pool: pool?.name,
    addresses: entry.addresses,
  };
  return { outcome, entry };
}

/** What import could not record of a zone's addresses, or undefined when it recorded them all. */
function addressNotes(
  held: { cidrs: string[]; unusable: string[] },
  pool: Pool | undefined,
): string | undefined {
  const notes = held.unusable.map((a) =>
    `address ${JSON.stringify(a)} matches no pool and has no prefix: not recorded`
  );
  if (held.cidrs.length === 0 && held.unusable.length === 0) {
    notes.push("no address in its net resources: registered without an address");
  }
  if (held.cidrs.length > 0 && !pool) {
    notes.push(
      `no pool contains ${
        held.cidrs[0]
      }: registered without a pool (its addresses still count as used)`,
    );
  }
  return notes.join("; ") || undefined;
}

/** Write `e`'s entry under the lock, unless a concurrent create/import registered it meanwhile. */
function registerStep(reg: Registry, e: ZoneEntry): Step {
  const path = entityPath(reg, "zones", e.name);
  let wrote = false;
  const remove = registryRemoveUndo(reg, path, "remove the entry");
  return registryStep(
    reg,
    `register zone ${e.name}`,
    path,
    `register (template ${e.template}, addresses ${
      e.addresses.join(", ") || "none"
    }), status active`,
    async () => {
      if (await pathExists(path)) return;
      await atomicWrite(path, writeZoneEntry(e));
      wrote = true;
    },
    { ...remove, run: () => wrote ? remove.run() : Promise.resolve(NOTHING_TO_UNDO) },
  );
}
