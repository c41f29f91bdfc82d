/**
 * The zone entries as IPAM ledger: which addresses are in use, which pool
 * holds which allocation, and what a hand edit broke (duplicates, addresses
 * outside their pool). Pure.
 *
 * @module
 */
import {
  cidrContains,
  formatCidr,
  formatIp,
  type IpAddr,
  parseCidr,
  poolSize,
  usedInPool,
} from "../ipam.ts";
import type { Pool, ZoneEntry } from "./schema.ts";

/** The address of an entry (without its prefix), if it has one. */
export function entryAddress(e: ZoneEntry): IpAddr | undefined {
  const c = e.address ? parseCidr(e.address) : undefined;
  return c ? { family: c.family, value: c.addr } : undefined;
}

/** Every address any entry holds, whatever its pool: the allocator skips all of them. */
export function usedAddresses(zones: ZoneEntry[]): IpAddr[] {
  const out: IpAddr[] = [];
  for (const z of zones) {
    const a = entryAddress(z);
    if (a) out.push(a);
  }
  return out;
}

/**
 * Problems a hand edit can introduce: two entries with one address, or an
 * entry whose address lies outside the network of the pool it names. Only
 * pools in `pools` are checked for containment.
 */
export function auditLedger(zones: ZoneEntry[], pools: Pool[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const poolByName = new Map(pools.map((p) => [p.name, p]));
  for (const z of zones) {
    const a = entryAddress(z);
    if (!a) continue;
    const key = `${a.family}:${a.value}`;
    const other = seen.get(key);
    if (other !== undefined) {
      problems.push(
        `zones ${other} and ${z.name} both hold address ${
          formatIp(a)
        }; edit one of zones/${z.name}.kdl or zones/${other}.kdl`,
      );
    } else seen.set(key, z.name);
    const pool = z.pool ? poolByName.get(z.pool) : undefined;
    if (pool && !cidrContains(pool.network, a)) {
      problems.push(
        `zone ${z.name} holds ${formatIp(a)}, which is outside its pool ${pool.name} (${
          formatCidr(pool.network)
        })`,
      );
    }
  }
  return problems;
}

/** One allocation shown by `pool show`. */
export interface Allocation {
  zone: string;
  address: string;
  status: string;
}

/** Usage of one pool: size, used, free and the allocations inside its network. */
export interface PoolUsage {
  size: bigint;
  used: number;
  free: bigint;
  allocations: Allocation[];
}

/** Count the pool's allocations (entries of any pool whose address lies in this one's range). */
export function poolUsage(pool: Pool, zones: ZoneEntry[]): PoolUsage {
  const size = poolSize(pool);
  const used = usedInPool(pool, usedAddresses(zones));
  const found: [bigint, Allocation][] = [];
  for (const z of zones) {
    const a = entryAddress(z);
    if (a && cidrContains(pool.network, a)) {
      found.push([a.value, { zone: z.name, address: formatIp(a), status: z.status }]);
    }
  }
  found.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const allocations = found.map(([, a]) => a);
  const free = size - BigInt(used.size);
  return { size, used: used.size, free: free < 0n ? 0n : free, allocations };
}
