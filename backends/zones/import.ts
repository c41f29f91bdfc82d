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
} from "../../lib/zones/schema.ts";
import { netAddresses } from "../../lib/zones/zonecfg.ts";
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
    if (registered.has(z.name)) {
      out.push({ name: z.name, action: "skipped", reason: "already registered" });
      continue;
    }
    if (VM_BRANDS.includes(z.brand)) {
      out.push({
        name: z.name,
        action: "skipped",
        reason: `${z.brand} zones are virtual machines, managed by vmctl/vm-manager`,
      });
      continue;
    }
    if (!ZONE_NAME.test(z.name)) {
      out.push({
        name: z.name,
        action: "unmatched",
        reason: "the zone name is not one zmgr can manage",
      });
      continue;
    }
    if (UNSUPPORTED_BRANDS[z.brand]) {
      out.push({ name: z.name, action: "unmatched", reason: UNSUPPORTED_BRANDS[z.brand] });
      continue;
    }
    const template = templates.find((t) => t.name === z.brand && t.brand === z.brand) ??
      templates.find((t) => t.brand === z.brand);
    if (!template) {
      out.push({
        name: z.name,
        action: "unmatched",
        reason:
          `no template has brand ${z.brand}; create one (zmgr template create NAME --brand ${z.brand}) and import again`,
      });
      continue;
    }
    const info = await zonecfgInfo(runner, z.name);
    const held = ledgerAddresses(netAddresses(info), pools);
    const pool = held.pool;
    const net = info.nets.find((n) => n.defrouter) ?? info.nets[0];
    const zonepath = info.zonepath ?? z.zonepath;
    if (!/^\/[A-Za-z0-9_.\/-]*$/.test(zonepath)) {
      out.push({
        name: z.name,
        action: "unmatched",
        reason: `zonepath ${JSON.stringify(zonepath)} has characters zmgr does not accept`,
      });
      continue;
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
    const reason = [
      ...held.unusable.map((a) =>
        `address ${JSON.stringify(a)} matches no pool and has no prefix: not recorded`
      ),
      ...(held.cidrs.length === 0 && held.unusable.length === 0
        ? ["no address in its net resources: registered without an address"]
        : []),
      ...(held.cidrs.length > 0 && !pool
        ? [
          `no pool contains ${
            held.cidrs[0]
          }: registered without a pool (its addresses still count as used)`,
        ]
        : []),
    ].join("; ") || undefined;
    out.push({
      name: z.name,
      action: "imported",
      reason,
      template: template.name,
      pool: pool?.name,
      addresses: entry.addresses,
    });
    toWrite.push(entry);
  }
  for (const o of out) if (o.action === "unmatched") log.debug(`import: ${o.name}: ${o.reason}`);
  const p = plan("import zones", toWrite.map((e) => registerStep(reg, e)));
  if (!opts.dryRun) await apply(p);
  return { outcomes: out, plan: p };
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
