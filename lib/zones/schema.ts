/**
 * The zone registry's entities (config.kdl, templates/, pools/, zones/,
 * publishers/): their types, strict readers and writers. The entity name is
 * the file name without `.kdl`. docs/zones.md documents every node.
 *
 * @module
 */
import {
  type Cidr,
  cidrContains,
  formatIp,
  type IpAddr,
  isNetwork,
  parseCidr,
  parseIp,
} from "../ipam.ts";
import type { IpRange, PoolRange } from "../ipam.ts";
import { type KdlFile, type Located, StrictReader } from "./kdl.ts";
import { ENTITY_NAME, LINK_NAME } from "./names.ts";

/** config.kdl */
export interface ZoneConfig {
  defaultTemplate: string;
  zonepathRoot: string;
  vnicPattern: string;
  /** Public keys written to root's authorized_keys on first boot. */
  sshKeys: string[];
  /** How vmctl's Propolis backend makes the zone of each VM. */
  vm: VmZoneConfig;
}

/** config.kdl's `vm-*` and `propolis-*` nodes: the zones Propolis VMs run in. */
export interface VmZoneConfig {
  /** The pool a VM zone's own address (where its propolis-server listens) comes from. */
  pool?: string;
  brand: string;
  /** The ZFS pool holding image volumes and VM disks. */
  zfsPool: string;
  /** propolis-server on the global zone (mounted read-only into each VM zone). */
  server: string;
  /** The guest firmware propolis-server boots (OVMF). */
  bootrom: string;
}

/** Where Oxide's packaging installs propolis-server and its bootrom (illumos-facts.md §7.7). */
export const VM_ZONE_DEFAULTS = {
  brand: "sparse",
  zfsPool: "rpool",
  server: "/opt/oxide/propolis-server/bin/propolis-server",
  bootrom: "/opt/oxide/propolis-server/blob/OVMF_CODE.fd",
} as const;

/** templates/NAME.kdl */
export interface ZoneTemplate {
  name: string;
  brand: string;
  autoboot: boolean;
  ipType: "exclusive";
  pool?: string;
  publishers: string[];
}

/** pools/NAME.kdl */
export interface Pool extends PoolRange {
  stub?: string;
  dns: IpAddr[];
  domain?: string;
}

/** Registry entry status: reserved before install, active once created. */
export type ZoneStatus = "creating" | "active";

/** zones/NAME.kdl: the zone's registry entry, which is also the IPAM ledger. */
export interface ZoneEntry {
  name: string;
  brand: string;
  template?: string;
  pool?: string;
  /**
   * Every address the zone holds, CIDR form (e.g. 10.0.0.5/24), one per
   * zonecfg `net` resource: illumos gives a zone extra addresses as extra
   * nets, and each one is in use.
   */
  addresses: string[];
  gateway?: string;
  vnic?: string;
  zonepath: string;
  status: ZoneStatus;
  imported: boolean;
  created?: string;
  /** Set on the zone of a Propolis VM: the VM it runs (vmctl manages the zone). */
  vm?: string;
  /** A VM zone's second link: the guest's viona VNIC (no address in the zone). */
  guestVnic?: string;
}

/** publishers/NAME.kdl */
export interface Publisher {
  name: string;
  origin: string;
}

export const CONFIG_NODES = [
  "default-template",
  "zonepath-root",
  "vnic-pattern",
  "ssh-key",
  "vm-pool",
  "vm-brand",
  "vm-zfs-pool",
  "propolis-server",
  "propolis-bootrom",
] as const;
export const TEMPLATE_NODES = ["brand", "autoboot", "ip-type", "pool", "publisher"] as const;
export const POOL_NODES = [
  "network",
  "gateway",
  "range",
  "stub",
  "dns",
  "domain",
  "reserve",
] as const;
export const ZONE_NODES = [
  "brand",
  "template",
  "pool",
  "address",
  "gateway",
  "vnic",
  "zonepath",
  "status",
  "imported",
  "created",
  "vm",
  "guest-vnic",
] as const;
export const PUBLISHER_NODES = ["origin"] as const;

/** Brands zmgr knows how to configure (sysding first-boot config applies to ipkg/nlipkg). */
export const KNOWN_BRANDS = ["ipkg", "nlipkg", "lipkg", "sparse", "pkgsrc"];

/**
 * Brands zmgr cannot create, with the reason: their install needs an image
 * or source argument zmgr has no way to give, or the zone is a virtual
 * machine (vmctl's business).
 */
export const UNSUPPORTED_BRANDS: Readonly<Record<string, string>> = {
  lx: "an lx zone's install needs a Linux image (zoneadm install -s IMAGE)",
  illumos: "an illumos-brand zone's install needs an image (zoneadm install -s IMAGE)",
  bhyve: "a bhyve zone is a virtual machine: create it with vmctl",
  kvm: "a kvm zone is a virtual machine: create it with vmctl",
};

/** Absolute paths zmgr accepts (zonepaths, zonepath roots). */
export const ABS_PATH = /^\/[A-Za-z0-9_.\/-]*$/;
const BRAND = /^[a-z][a-z0-9_-]{0,31}$/;
/** ZFS pool names: a letter, then letters, digits, '_', '-', '.' (zpool(8)). */
const ZFS_POOL = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const SSH_KEY =
  /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+\/=]+( [ -~]*)?$/;
const ORIGIN = /^(https?|file):\/\/[A-Za-z0-9._~:\/?#@!$&*+,;=%-]+$/;

function checkPath(r: StrictReader, at: Located<string> | undefined, what: string): void {
  if (at && (!ABS_PATH.test(at.value) || at.value.split("/").includes(".."))) {
    r.bad(
      at,
      "zmgr::kdl::bad_path",
      `${what} ${JSON.stringify(at.value)} must be an absolute path`,
      "use an absolute path of letters, digits, '_', '.', '-' and '/', without '..'",
    );
  }
}

/** Read config.kdl. */
export function readConfig(file: KdlFile): ZoneConfig {
  const r = new StrictReader(file, "config.kdl", CONFIG_NODES);
  const tpl = r.string("default-template");
  const root = r.string("zonepath-root");
  const pattern = r.string("vnic-pattern");
  const keys = r.strings("ssh-key");
  const vm = readVmZoneConfig(r);
  checkPath(r, root, "zonepath-root");
  if (pattern && !/^[A-Za-z0-9_.{}]+$/.test(pattern.value)) {
    r.bad(
      pattern,
      "zmgr::kdl::bad_value",
      `vnic-pattern ${
        JSON.stringify(pattern.value)
      } may only use letters, digits, '_', '.' and {name}`,
      'the default is "{name}0"',
    );
  }
  for (const k of keys) {
    if (!SSH_KEY.test(k.value)) {
      r.bad(
        k,
        "zmgr::kdl::bad_ssh_key",
        "ssh-key is not an OpenSSH public key line",
        "paste one line of ~/.ssh/id_ed25519.pub",
      );
    }
  }
  r.finish();
  return {
    defaultTemplate: tpl?.value ?? "ipkg",
    zonepathRoot: (root?.value ?? "/zones").replace(/\/+$/, "") || "/",
    vnicPattern: pattern?.value ?? "{name}0",
    sshKeys: keys.map((k) => k.value),
    vm,
  };
}

function readVmZoneConfig(r: StrictReader): VmZoneConfig {
  const pool = r.string("vm-pool");
  const brand = r.string("vm-brand");
  const zfsPool = r.string("vm-zfs-pool");
  const server = r.string("propolis-server");
  const bootrom = r.string("propolis-bootrom");
  if (pool && !ENTITY_NAME.test(pool.value)) {
    r.bad(
      pool,
      "zmgr::kdl::bad_value",
      `vm-pool ${JSON.stringify(pool.value)} is not a pool name`,
      "name a pool of `zmgr pool list`",
    );
  }
  if (brand && !BRAND.test(brand.value)) {
    r.bad(
      brand,
      "zmgr::kdl::bad_value",
      `vm-brand ${JSON.stringify(brand.value)} is not a brand name`,
      'e.g. "sparse"',
    );
  }
  if (zfsPool && !ZFS_POOL.test(zfsPool.value)) {
    r.bad(
      zfsPool,
      "zmgr::kdl::bad_value",
      `vm-zfs-pool ${JSON.stringify(zfsPool.value)} is not a ZFS pool name`,
      'e.g. "rpool"',
    );
  }
  checkPath(r, server, "propolis-server");
  checkPath(r, bootrom, "propolis-bootrom");
  return {
    ...(pool ? { pool: pool.value } : {}),
    brand: brand?.value ?? VM_ZONE_DEFAULTS.brand,
    zfsPool: zfsPool?.value ?? VM_ZONE_DEFAULTS.zfsPool,
    server: server?.value ?? VM_ZONE_DEFAULTS.server,
    bootrom: bootrom?.value ?? VM_ZONE_DEFAULTS.bootrom,
  };
}

/** Read templates/NAME.kdl. */
export function readTemplate(file: KdlFile, name: string): ZoneTemplate {
  const r = new StrictReader(file, `template ${name}`, TEMPLATE_NODES);
  const brand = r.string("brand", true);
  const autoboot = r.boolean("autoboot");
  const ipType = r.string("ip-type");
  const pool = r.string("pool");
  const pubs = r.strings("publisher");
  if (brand && !BRAND.test(brand.value)) {
    r.bad(
      brand,
      "zmgr::kdl::bad_value",
      `invalid brand ${JSON.stringify(brand.value)}`,
      `known brands: ${KNOWN_BRANDS.join(", ")}`,
    );
  } else if (brand && UNSUPPORTED_BRANDS[brand.value]) {
    r.bad(
      brand,
      "zmgr::template::unsupported_brand",
      `zmgr cannot create ${brand.value} zones: ${UNSUPPORTED_BRANDS[brand.value]}`,
      `use one of ${KNOWN_BRANDS.join(", ")}; zones of other brands are made by hand`,
    );
  }
  if (ipType && ipType.value !== "exclusive") {
    r.bad(
      ipType,
      "zmgr::template::unsupported_ip_type",
      `ip-type ${JSON.stringify(ipType.value)} is not supported`,
      'zmgr manages exclusive-IP zones with their own VNIC: use ip-type "exclusive"',
    );
  }
  for (const at of [pool, ...pubs]) {
    if (at && !ENTITY_NAME.test(at.value)) {
      r.bad(
        at,
        "zmgr::name::invalid",
        `invalid name ${JSON.stringify(at.value)}`,
        "names use letters, digits, '_', '.' or '-'",
      );
    }
  }
  r.finish();
  return {
    name,
    brand: brand!.value,
    autoboot: autoboot?.value ?? true,
    ipType: "exclusive",
    pool: pool?.value,
    publishers: pubs.map((p) => p.value),
  };
}

function ip(r: StrictReader, at: Located<string> | undefined, what: string): IpAddr | undefined {
  if (!at) return undefined;
  const a = parseIp(at.value);
  if (!a) {
    r.bad(
      at,
      "zmgr::kdl::bad_address",
      `${what} ${JSON.stringify(at.value)} is not an IP address`,
      "write a plain address such as 10.0.0.1 or 2001:db8::1",
    );
  }
  return a;
}

/** Read pools/NAME.kdl. */
export function readPool(file: KdlFile, name: string): Pool {
  const r = new StrictReader(file, `pool ${name}`, POOL_NODES);
  const netAt = r.string("network", true);
  const gwAt = r.string("gateway");
  const range = r.pair("range");
  const stub = r.string("stub");
  const dnsAt = r.strings("dns");
  const domain = r.string("domain");
  const reserveAt = r.strings("reserve");
  let network: Cidr | undefined;
  if (netAt) {
    network = parseCidr(netAt.value);
    if (!network) {
      r.bad(
        netAt,
        "zmgr::kdl::bad_network",
        `network ${JSON.stringify(netAt.value)} is not a CIDR`,
        'write it as "10.0.0.0/24" or "2001:db8::/64"',
      );
    } else if (!isNetwork(network)) {
      r.bad(
        netAt,
        "zmgr::kdl::bad_network",
        `network ${netAt.value} has host bits set`,
        "the network address must end in zero host bits, e.g. 10.0.0.0/24",
      );
      network = undefined;
    }
  }
  const inNet = (at: Located<string> | undefined, what: string): IpAddr | undefined => {
    const a = ip(r, at, what);
    if (a && network && !cidrContains(network, a)) {
      r.bad(
        at!,
        "zmgr::pool::outside_network",
        `${what} ${formatIp(a)} is outside the pool's network ${netAt!.value}`,
        "use an address inside the network",
      );
      return undefined;
    }
    return a;
  };
  const gateway = inNet(gwAt, "gateway");
  const rangeStart = inNet(range?.[0], "range start");
  const rangeEnd = inNet(range?.[1], "range end");
  if (rangeStart && rangeEnd && rangeStart.value > rangeEnd.value) {
    r.bad(
      range![0],
      "zmgr::pool::bad_range",
      "range start is after range end",
      "write the lower address first",
    );
  }
  // Each `reserve` value is one address or an inclusive `FIRST-LAST` range
  // (IPv6 addresses contain no `-`, so the split is unambiguous).
  const reserved: IpRange[] = [];
  for (const at of reserveAt) {
    const [lo, hi, ...extra] = at.value.split("-");
    const first = inNet({ value: lo, span: at.span }, "reserved address");
    const last = hi === undefined ? first : inNet({ value: hi, span: at.span }, "reserved address");
    if (extra.length || (first && last && first.value > last.value)) {
      r.bad(
        at,
        "zmgr::pool::bad_range",
        `reserve ${JSON.stringify(at.value)} is not an address or a FIRST-LAST range`,
        'write one address ("10.0.0.5") or a range with the lower address first ("10.0.0.20-10.0.0.29")',
      );
    } else if (first && last) reserved.push({ first, last });
  }
  const dns = dnsAt.map((a) => ip(r, a, "dns server")).filter((a): a is IpAddr => !!a);
  if (stub && !LINK_NAME.test(stub.value)) {
    r.bad(
      stub,
      "zmgr::name::invalid_link",
      `stub ${JSON.stringify(stub.value)} is not a valid datalink name`,
      "datalink names start with a letter and end in a digit, e.g. igb0 or stub0",
    );
  }
  if (domain && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(domain.value)) {
    r.bad(
      domain,
      "zmgr::kdl::bad_value",
      `domain ${JSON.stringify(domain.value)} is not a DNS domain`,
      "e.g. example.com",
    );
  }
  r.finish();
  return {
    name,
    network: network!,
    gateway,
    rangeStart,
    rangeEnd,
    reserved,
    stub: stub?.value,
    dns,
    domain: domain?.value,
  };
}

/** Read zones/NAME.kdl. */
export function readZoneEntry(file: KdlFile, name: string): ZoneEntry {
  const r = new StrictReader(file, `zone ${name}`, ZONE_NODES);
  const brand = r.string("brand", true);
  const template = r.string("template");
  const pool = r.string("pool");
  const addresses = r.strings("address");
  const gateway = r.string("gateway");
  const vnic = r.string("vnic");
  const zonepath = r.string("zonepath", true);
  const status = r.string("status");
  const imported = r.boolean("imported");
  const created = r.string("created");
  const vm = r.string("vm");
  const guestVnic = r.string("guest-vnic");
  checkPath(r, zonepath, "zonepath");
  for (const address of addresses) {
    if (!parseCidr(address.value)) {
      r.bad(
        address,
        "zmgr::kdl::bad_address",
        `address ${JSON.stringify(address.value)} is not ADDRESS/PREFIX`,
        'write it as "10.0.0.5/24", one `address` line per address',
      );
    }
  }
  if (gateway && !parseIp(gateway.value)) {
    r.bad(
      gateway,
      "zmgr::kdl::bad_address",
      `gateway ${JSON.stringify(gateway.value)} is not an IP address`,
      "e.g. 10.0.0.1",
    );
  }
  for (const link of [vnic, guestVnic]) {
    if (link && !LINK_NAME.test(link.value)) {
      r.bad(
        link,
        "zmgr::name::invalid_link",
        `vnic ${JSON.stringify(link.value)} is not a valid datalink name`,
        "datalink names start with a letter and end in a digit",
      );
    }
  }
  if (status && status.value !== "creating" && status.value !== "active") {
    r.bad(
      status,
      "zmgr::kdl::bad_value",
      `unknown status ${JSON.stringify(status.value)}`,
      'status is "creating" or "active"',
    );
  }
  r.finish();
  return {
    name,
    brand: brand!.value,
    template: template?.value,
    pool: pool?.value,
    addresses: addresses.map((a) => a.value),
    gateway: gateway?.value,
    vnic: vnic?.value,
    zonepath: zonepath!.value,
    status: (status?.value as ZoneStatus) ?? "active",
    imported: imported?.value ?? false,
    created: created?.value,
    ...(vm ? { vm: vm.value } : {}),
    ...(guestVnic ? { guestVnic: guestVnic.value } : {}),
  };
}

/** Read publishers/NAME.kdl. */
export function readPublisher(file: KdlFile, name: string): Publisher {
  const r = new StrictReader(file, `publisher ${name}`, PUBLISHER_NODES);
  const origin = r.string("origin", true);
  if (origin && !ORIGIN.test(origin.value)) {
    r.bad(
      origin,
      "zmgr::kdl::bad_origin",
      `origin ${JSON.stringify(origin.value)} is not an http(s) or file URL`,
      "e.g. https://pkg.openindiana.org/hipster",
    );
  }
  r.finish();
  return { name, origin: origin!.value };
}

/** Check a publisher origin given on the command line. */
export function isValidOrigin(origin: string): boolean {
  return ORIGIN.test(origin);
}

export { writeConfig, writePool, writePublisher, writeTemplate, writeZoneEntry } from "./write.ts";
