/**
 * `zmgr import`: register zones that exist on the system but not in the
 * registry. bhyve zones are vm-manager's and are skipped. The template is
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
import { readPool, readTemplate, writeZoneEntry, type ZoneEntry } from "../../lib/zones/schema.ts";
import type { Runner } from "../exec.ts";
import {
  atomicWrite,
  entityPath,
  loadAll,
  loadAllZones,
  type Registry,
  withRegistryLock,
} from "./registry.ts";
import { listSystemZones, zonecfgInfo } from "./system.ts";

/** What import did for one zone. */
export interface ImportOutcome {
  name: string;
  action: "imported" | "skipped" | "unmatched";
  reason?: string;
  template?: string;
  pool?: string;
  address?: string;
}

/** Import every unregistered, non-bhyve zone. */
export async function importZones(reg: Registry, runner: Runner): Promise<ImportOutcome[]> {
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
    if (z.brand === "bhyve") {
      out.push({
        name: z.name,
        action: "skipped",
        reason: "bhyve zones are managed by vmctl/vm-manager",
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
    // Exclusive-IP zones carry allowed-address; shared-IP zones carry address
    // (possibly without a prefix: the containing pool's prefix is used).
    const net = info.nets.find((n) => n.allowedAddress || n.address) ?? info.nets[0];
    const rawAddress = net?.allowedAddress ?? net?.address;
    const ip = rawAddress ? parseIp(rawAddress.split("/")[0]) : undefined;
    const pool = ip ? pools.find((p) => cidrContains(p.network, ip)) : undefined;
    const cidr = rawAddress?.includes("/")
      ? parseCidr(rawAddress)
      : ip && pool
      ? parseCidr(`${rawAddress}/${pool.network.prefix}`)
      : undefined;
    const zonepath = info.zonepath ?? z.zonepath;
    if (!/^\/[A-Za-z0-9_.\/-]*$/.test(zonepath)) {
      out.push({
        name: z.name,
        action: "unmatched",
        reason: `zonepath ${JSON.stringify(zonepath)} has characters zmgr does not accept`,
      });
      continue;
    }
    const entry: ZoneEntry = {
      name: z.name,
      brand: z.brand,
      template: template.name,
      pool: pool?.name,
      address: cidr
        ? `${formatIp({ family: cidr.family, value: cidr.addr })}/${cidr.prefix}`
        : undefined,
      gateway: net?.defrouter && parseIp(net.defrouter) ? net.defrouter : undefined,
      vnic: net?.physical && LINK_NAME.test(net.physical) ? net.physical : undefined,
      zonepath,
      status: "active",
      imported: true,
      created: new Date().toISOString(),
    };
    const reason = !cidr
      ? rawAddress
        ? `address ${
          JSON.stringify(rawAddress)
        } matches no pool and has no prefix: registered without an address`
        : "no address in its net resource: registered without an address"
      : !pool
      ? `no pool contains ${rawAddress}: registered without a pool (the address still counts as used)`
      : undefined;
    out.push({
      name: z.name,
      action: "imported",
      reason,
      template: template.name,
      pool: pool?.name,
      address: entry.address,
    });
    toWrite.push(entry);
  }
  if (!runner.dryRun && toWrite.length) {
    await withRegistryLock(reg, async () => {
      const now = new Set((await loadAllZones(reg)).map((z) => z.name));
      for (const e of toWrite) {
        if (now.has(e.name)) continue; // registered meanwhile by a concurrent create/import
        await atomicWrite(entityPath(reg, "zones", e.name), writeZoneEntry(e));
      }
    });
  }
  for (const o of out) if (o.action === "unmatched") log.debug(`import: ${o.name}: ${o.reason}`);
  return out;
}
