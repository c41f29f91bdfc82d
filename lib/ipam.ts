/**
 * IP address management for zone pools: IPv4 and IPv6 (bigint arithmetic),
 * CIDR parsing, pool bounds and the allocator. Pure: the caller passes the
 * addresses already in use (the zone registry is the ledger).
 *
 * Rules: the network address is never handed out, nor the IPv4 broadcast
 * address, nor the gateway, nor any reserved address. Allocation returns the
 * lowest free address of the pool's range.
 *
 * @module
 */
import { Diagnostic } from "./diagnostics.ts";

export type IpFamily = 4 | 6;

/** One address: family plus its value as an unsigned integer. */
export interface IpAddr {
  family: IpFamily;
  value: bigint;
}

/** A network (`10.0.0.0/24`) or an interface address (`10.0.0.5/24`). */
export interface Cidr {
  family: IpFamily;
  /** The address as written (host bits may be set for interface addresses). */
  addr: bigint;
  prefix: number;
}

/** An inclusive run of addresses of one family (`first` == `last` for one address). */
export interface IpRange {
  first: IpAddr;
  last: IpAddr;
}

/** What the allocator needs to know about a pool. */
export interface PoolRange {
  name: string;
  network: Cidr;
  gateway?: IpAddr;
  rangeStart?: IpAddr;
  rangeEnd?: IpAddr;
  /** Addresses and ranges never handed out (`reserve` nodes). */
  reserved: IpRange[];
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

/** Parse a dotted-quad IPv4 or an RFC 4291 IPv6 address; undefined when invalid. */
export function parseIp(text: string): IpAddr | undefined {
  if (text.includes(":")) {
    const v = parseIpv6(text);
    return v === undefined ? undefined : { family: 6, value: v };
  }
  const v = parseIpv4(text);
  return v === undefined ? undefined : { family: 4, value: v };
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    // No leading zeros: "010" is octal to some tools and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  let groups: string[];
  const dbl = text.indexOf("::");
  if (dbl !== text.lastIndexOf("::")) return undefined;
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expandV4 = (gs: string[]): string[] | undefined => {
    const last = gs[gs.length - 1];
    if (last === undefined || !last.includes(".")) return gs;
    const v4 = parseIpv4(last);
    if (v4 === undefined) return undefined;
    return [...gs.slice(0, -1), (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
  };
  if (dbl >= 0) {
    const head = text.slice(0, dbl) === "" ? [] : text.slice(0, dbl).split(":");
    const tailRaw = text.slice(dbl + 2) === "" ? [] : text.slice(dbl + 2).split(":");
    const tail = expandV4(tailRaw);
    if (!tail) return undefined;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...Array(missing).fill("0"), ...tail];
  } else {
    const g = expandV4(text.split(":"));
    if (!g) return undefined;
    groups = g;
  }
  if (groups.length !== 8) return undefined;
  let v = 0n;
  for (const g of groups) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Canonical text form (IPv6 compressed per RFC 5952, lower case). */
/** True when `a` and `b` are the same address. */
export function sameIp(a: IpAddr, b: IpAddr): boolean {
  return a.family === b.family && a.value === b.value;
}

export function formatIp(a: IpAddr): string {
  if (a.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 255n)).join(".");
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((a.value >> BigInt(i * 16)) & 0xffffn));
  // Longest run of zero groups (length >= 2, first one wins) becomes "::".
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLen).join(":");
  return `${head}::${tail}`;
}

/** Parse `ADDR/PREFIX`; undefined when invalid. Host bits may be set. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const p = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > BITS[ip.family]) return undefined;
  return { family: ip.family, addr: ip.value, prefix };
}

/** `10.0.0.0/24` text of a CIDR (its address as written). */
export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.addr })}/${c.prefix}`;
}

function hostMask(family: IpFamily, prefix: number): bigint {
  return (1n << BigInt(BITS[family] - prefix)) - 1n;
}

/** The network address of a CIDR (host bits cleared). */
export function networkAddress(c: Cidr): bigint {
  return c.addr & ~hostMask(c.family, c.prefix);
}

/** The last address of a CIDR (all host bits set). */
export function lastAddress(c: Cidr): bigint {
  return networkAddress(c) | hostMask(c.family, c.prefix);
}

/** True when the CIDR's host bits are all zero (a proper network). */
export function isNetwork(c: Cidr): boolean {
  return networkAddress(c) === c.addr;
}

/** True when `a` lies inside network `c`. */
export function cidrContains(c: Cidr, a: IpAddr): boolean {
  return a.family === c.family && a.value >= networkAddress(c) && a.value <= lastAddress(c);
}

/** True when two networks share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && networkAddress(a) <= lastAddress(b) &&
    networkAddress(b) <= lastAddress(a);
}

/**
 * First and last address the pool may hand out, before gateway and
 * reserved exclusions: the network address and (IPv4) broadcast are cut off,
 * then the optional range narrows it.
 */
export function poolBounds(pool: PoolRange): { first: bigint; last: bigint } {
  const net = pool.network;
  let first = networkAddress(net) + 1n;
  let last = net.family === 4 ? lastAddress(net) - 1n : lastAddress(net);
  if (pool.rangeStart && pool.rangeStart.value > first) first = pool.rangeStart.value;
  if (pool.rangeEnd && pool.rangeEnd.value < last) last = pool.rangeEnd.value;
  return { first, last };
}

/** `A` for a one-address range, else `A-B` (the form `reserve` and `--reserve` take). */
export function formatIpRange(r: IpRange): string {
  return r.first.value === r.last.value
    ? formatIp(r.first)
    : `${formatIp(r.first)}-${formatIp(r.last)}`;
}

/**
 * What the pool never hands out inside its bounds: the gateway and the
 * reserved ranges, clipped, sorted and merged ([lo, hi] pairs, inclusive).
 */
function exclusions(pool: PoolRange): [bigint, bigint][] {
  const { first, last } = poolBounds(pool);
  const family = pool.network.family;
  const runs: [bigint, bigint][] = [];
  const add = (lo: bigint, hi: bigint) => {
    if (hi < first || lo > last) return;
    runs.push([lo < first ? first : lo, hi > last ? last : hi]);
  };
  if (pool.gateway?.family === family) add(pool.gateway.value, pool.gateway.value);
  for (const r of pool.reserved) if (r.first.family === family) add(r.first.value, r.last.value);
  runs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const [lo, hi] of runs) {
    const prev = merged[merged.length - 1];
    if (prev && lo <= prev[1] + 1n) {
      if (hi > prev[1]) prev[1] = hi;
    } else merged.push([lo, hi]);
  }
  return merged;
}

/** The exclusion run holding `v`, if any. */
function excludedRun(runs: [bigint, bigint][], v: bigint): [bigint, bigint] | undefined {
  return runs.find(([lo, hi]) => v >= lo && v <= hi);
}

/** How many addresses the pool can hand out in total (range minus gateway and reserved). */
export function poolSize(pool: PoolRange): bigint {
  const { first, last } = poolBounds(pool);
  if (last < first) return 0n;
  let n = last - first + 1n;
  for (const [lo, hi] of exclusions(pool)) n -= hi - lo + 1n;
  return n;
}

/** Addresses of `used` that fall inside the pool's range and count against it. */
export function usedInPool(pool: PoolRange, used: Iterable<IpAddr>): Set<bigint> {
  const { first, last } = poolBounds(pool);
  const runs = exclusions(pool);
  const out = new Set<bigint>();
  for (const u of used) {
    if (u.family !== pool.network.family) continue;
    if (u.value >= first && u.value <= last && !excludedRun(runs, u.value)) out.add(u.value);
  }
  return out;
}

/**
 * The lowest free address of the pool. `used` holds every address the
 * registry has handed out (of any pool): only those inside this pool's range
 * matter. Throws `zmgr::pool::exhausted` when nothing is left.
 */
export function allocate(pool: PoolRange, used: Iterable<IpAddr>): IpAddr {
  const { first, last } = poolBounds(pool);
  const runs = exclusions(pool);
  const taken = usedInPool(pool, used);
  // Excluded runs are jumped over whole, so at most |taken| + |runs| + 1
  // candidates are examined before a free one, however wide a reserved range.
  for (let v = first; v <= last; v++) {
    const run = excludedRun(runs, v);
    if (run) v = run[1];
    else if (!taken.has(v)) return { family: pool.network.family, value: v };
  }
  const size = poolSize(pool);
  throw new Diagnostic(
    "zmgr::pool::exhausted",
    `pool ${pool.name} (${
      formatCidr(pool.network)
    }) is exhausted: all ${size} addresses are allocated`,
    {
      hint:
        `destroy unused zones, widen the pool's range (\`zmgr pool edit ${pool.name} --range START-END\`), or use another pool with --pool`,
    },
  );
}

/**
 * Check an explicitly requested address: inside the pool's range, not the
 * network/broadcast/gateway/reserved, not in use. Returns the address.
 */
export function checkRequested(pool: PoolRange, text: string, used: Iterable<IpAddr>): IpAddr {
  const a = parseIp(text.includes("/") ? text.slice(0, text.indexOf("/")) : text);
  if (!a) {
    throw new Diagnostic("zmgr::address::invalid", `${JSON.stringify(text)} is not an IP address`, {
      hint: "give a plain address such as 10.0.0.42 or 2001:db8::42",
    });
  }
  const shown = formatIp(a);
  const net = formatCidr(pool.network);
  if (!cidrContains(pool.network, a)) {
    throw new Diagnostic(
      "zmgr::address::outside_pool",
      `address ${shown} is not inside pool ${pool.name} (${net})`,
      { hint: `choose an address in ${net}, or another pool with --pool` },
    );
  }
  const { first, last } = poolBounds(pool);
  if (a.value < first || a.value > last) {
    const why = a.value === networkAddress(pool.network)
      ? "it is the network address"
      : a.family === 4 && a.value === lastAddress(pool.network)
      ? "it is the broadcast address"
      : `it is outside the pool's range ${formatIp({ family: a.family, value: first })}-${
        formatIp({ family: a.family, value: last })
      }`;
    throw new Diagnostic("zmgr::address::outside_pool", `address ${shown} cannot be used: ${why}`, {
      hint: "omit --address to get the lowest free address",
    });
  }
  if (pool.gateway && pool.gateway.value === a.value && pool.gateway.family === a.family) {
    throw new Diagnostic(
      "zmgr::address::reserved",
      `address ${shown} is the gateway of pool ${pool.name}`,
      { hint: "omit --address to get the lowest free address" },
    );
  }
  if (
    pool.reserved.some((r) =>
      r.first.family === a.family && a.value >= r.first.value && a.value <= r.last.value
    )
  ) {
    throw new Diagnostic(
      "zmgr::address::reserved",
      `address ${shown} is reserved in pool ${pool.name}`,
      { hint: "omit --address to get the lowest free address" },
    );
  }
  for (const u of used) {
    if (sameIp(u, a)) {
      throw new Diagnostic("zmgr::address::in_use", `address ${shown} is already allocated`, {
        hint:
          `see \`zmgr pool show ${pool.name}\` for the allocations; omit --address to get a free one`,
      });
    }
  }
  return a;
}
