/**
 * `zmgr pool show`: a pool, what it has handed out, and the ledger's problems;
 * with the live system, also where the system and the ledger disagree.
 *
 * @module
 */
import { formatCidr, formatIp, formatIpRange } from "../../lib/ipam.ts";
import {
  type Allocation,
  auditLedger,
  liveLedgerProblems,
  poolUsage,
} from "../../lib/zones/ledger.ts";
import type { Runner } from "../exec.ts";
import { loadAllZones, loadPool, type Registry } from "./registry.ts";
import { liveAddresses } from "./system.ts";

/** A pool as `pool show` prints it (`--json` prints exactly this). */
export interface PoolView {
  name: string;
  network: string;
  gateway: string | null;
  range: string | null;
  stub: string | null;
  dns: string[];
  domain: string | null;
  reserved: string[];
  size: bigint;
  used: number;
  free: bigint;
  allocations: Allocation[];
  problems: string[];
}

/**
 * Pool `name` from the registry. With `live` (a runner), every zone's nets on
 * the system are read too (one zonecfg per zone) and compared with the ledger.
 */
export async function poolView(reg: Registry, name: string, live?: Runner): Promise<PoolView> {
  const pool = await loadPool(reg, name);
  const zones = await loadAllZones(reg);
  const u = poolUsage(pool, zones);
  const problems = auditLedger(
    zones.filter((z) => z.pool === name || u.allocations.some((a) => a.zone === z.name)),
    [pool],
  );
  if (live) problems.push(...liveLedgerProblems(zones, await liveAddresses(live), pool));
  return {
    name,
    network: formatCidr(pool.network),
    gateway: pool.gateway ? formatIp(pool.gateway) : null,
    range: pool.rangeStart && pool.rangeEnd
      ? `${formatIp(pool.rangeStart)}-${formatIp(pool.rangeEnd)}`
      : null,
    stub: pool.stub ?? null,
    dns: pool.dns.map(formatIp),
    domain: pool.domain ?? null,
    reserved: pool.reserved.map(formatIpRange),
    size: u.size,
    used: u.used,
    free: u.free,
    allocations: u.allocations,
    problems,
  };
}
