/**
 * The zone entries as IPAM ledger: which addresses are in use, which pool
 * holds which allocation, and what a hand edit broke (duplicates, addresses
 * outside their pool). Pure.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import {
  allocate,
  checkRequested,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIp,
  type IpAddr,
  parseCidr,
  poolSize,
  sameIp,
  usedInPool,
} from "../ipam.ts";
import type { Pool, ZoneEntry } from "./schema.ts";

/** The addresses of an entry (without their prefixes). */
export function entryAddresses(e: ZoneEntry): IpAddr[] {
  return e.addresses.flatMap((text) => {
    const c = parseCidr(text);
    return c ? [{ family: c.family, value: c.addr }] : [];
  });
}

/** Every address any entry holds, whatever its pool: the allocator skips all of them. */
export function usedAddresses(zones: ZoneEntry[]): IpAddr[] {
  return zones.flatMap(entryAddresses);
}

/**
 * Problems a hand edit can introduce: two entries with one address, or an
 * entry none of whose addresses lies in the network of the pool it names. Only
 * pools in `pools` are checked for containment.
 */
export function auditLedger(zones: ZoneEntry[], pools: Pool[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const poolByName = new Map(pools.map((p) => [p.name, p]));
  for (const z of zones) {
    const addresses = entryAddresses(z);
    for (const a of addresses) {
      const key = `${a.family}:${a.value}`;
      const other = seen.get(key);
      if (other !== undefined && other !== z.name) {
        problems.push(
          `zones ${other} and ${z.name} both hold address ${
            formatIp(a)
          }; edit one of zones/${z.name}.kdl or zones/${other}.kdl`,
        );
      } else seen.set(key, z.name);
    }
    // A zone with several nets may hold addresses of other networks; it is
    // misplaced only when none of them lies in the pool it names.
    const pool = z.pool ? poolByName.get(z.pool) : undefined;
    if (pool && addresses.length && !addresses.some((a) => cidrContains(pool.network, a))) {
      problems.push(
        `zone ${z.name} holds ${
          addresses.map(formatIp).join(", ")
        }, which is outside its pool ${pool.name} (${formatCidr(pool.network)})`,
      );
    }
  }
  return problems;
}

/** An address a zone's nets hold on the live system (`zonecfg info`). */
export interface LiveAddress {
  zone: string;
  address: IpAddr;
}

/**
 * Where the live system and the ledger disagree inside `pool`'s network: a
 * registered zone whose nets hold an address its entry does not record (create
 * would hand that address out), and a zone outside the registry holding one
 * (create skips it, but no entry accounts for it).
 */
export function liveLedgerProblems(zones: ZoneEntry[], live: LiveAddress[], pool: Pool): string[] {
  const byName = new Map(zones.map((z) => [z.name, z]));
  const problems: string[] = [];
  for (const { zone, address } of live) {
    if (!cidrContains(pool.network, address)) continue;
    const entry = byName.get(zone);
    const ip = formatIp(address);
    if (!entry) {
      problems.push(
        `zone ${zone}, which is not in the registry, holds ${ip}; create skips it, \`zmgr import\` registers it`,
      );
    } else if (!entryAddresses(entry).some((a) => sameIp(a, address))) {
      problems.push(
        `zone ${zone} holds ${ip} on the system, but zones/${zone}.kdl records ${
          entry.addresses.join(", ") || "no address"
        }: create could hand ${ip} out; record it in zones/${zone}.kdl or change the zone back`,
      );
    }
  }
  return problems;
}

/** One address of a new zone (CIDR form) and the default router of its pool. */
export interface NetAllocation {
  address: string;
  defrouter?: string;
}

/**
 * One address from each pool, in order (a dual-stack zone names a v4 and a v6
 * pool): `requested` (--address) for the first, else each pool's lowest free
 * address. Nothing in `used`, nor an address taken for an earlier pool, is
 * handed out.
 */
export function allocateNets(pools: Pool[], used: IpAddr[], requested?: string): NetAllocation[] {
  const taken = [...used];
  return pools.map((pool, i) => {
    const a = i === 0 && requested ? checkRequested(pool, requested, taken) : allocate(pool, taken);
    taken.push(a);
    return {
      address: `${formatIp(a)}/${pool.network.prefix}`,
      defrouter: pool.gateway ? formatIp(pool.gateway) : undefined,
    };
  });
}

/**
 * The link the zone's VNIC goes over: the first pool's stub. Every net of
 * the zone is on that one VNIC, so another pool naming a different stub is
 * refused.
 */
export function zoneStub(pools: Pool[]): string {
  const [first, ...rest] = pools;
  if (!first.stub) {
    throw new Diagnostic(
      "zmgr::pool::no_stub",
      `pool ${first.name} has no stub link for the VNIC`,
      {
        hint: `set one: zmgr pool edit ${first.name} --stub LINK (e.g. igb0 or an etherstub)`,
      },
    );
  }
  const other = rest.find((p) => p.stub && p.stub !== first.stub);
  if (other) {
    throw new Diagnostic(
      "zmgr::pool::stub_mismatch",
      `pools ${first.name} and ${other.name} name different stubs (${first.stub}, ${other.stub}); a zone's addresses share one VNIC`,
      { hint: `give both pools the same stub (zmgr pool edit ${other.name} --stub ${first.stub})` },
    );
  }
  return first.stub;
}

/**
 * One line per pool of `others` whose network overlaps `pool`'s. Allowed (an
 * address in use counts for every pool), but usually a typo in --network.
 */
export function poolOverlaps(pool: Pool, others: Pool[]): string[] {
  return others.filter((o) => cidrsOverlap(o.network, pool.network)).map((o) =>
    `pool ${pool.name} (${formatCidr(pool.network)}) overlaps pool ${o.name} (${
      formatCidr(o.network)
    }): they share addresses; each is still handed out to one zone only`
  );
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
    for (const a of entryAddresses(z)) {
      if (cidrContains(pool.network, a)) {
        found.push([a.value, { zone: z.name, address: formatIp(a), status: z.status }]);
      }
    }
  }
  found.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  const allocations = found.map(([, a]) => a);
  const free = size - BigInt(used.size);
  return { size, used: used.size, free: free < 0n ? 0n : free, allocations };
}
