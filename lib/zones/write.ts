/**
 * Text of new registry files (config, template, pool, zone entry,
 * publisher), built through the KDL library so every value is escaped
 * correctly and plain strings are quoted.
 *
 * @module
 */
import { formatIp, formatIpRange } from "../ipam.ts";
import { buildDocument, type KdlScalar } from "./kdl.ts";
import type { Pool, Publisher, ZoneConfig, ZoneEntry, ZoneTemplate } from "./schema.ts";

const opt = (v: string | undefined): KdlScalar[] => (v === undefined ? [] : [v]);

/** Text of a new zone entry file. */
export function writeZoneEntry(e: ZoneEntry): string {
  return buildDocument([
    ["brand", [e.brand]],
    ["template", opt(e.template)],
    ["pool", opt(e.pool)],
    ...e.addresses.map((a): [string, KdlScalar[]] => ["address", [a]]),
    ["gateway", opt(e.gateway)],
    ["vnic", opt(e.vnic)],
    ["zonepath", [e.zonepath]],
    ["status", [e.status]],
    ["imported", e.imported ? [true] : []],
    ["created", opt(e.created)],
    ["vm", opt(e.vm)],
    ["guest-vnic", opt(e.guestVnic)],
  ], `zone ${e.name}: registry entry written by zmgr (also its address reservation)`);
}

/** Text of a new pool file. */
export function writePool(p: Pool): string {
  const lines: [string, KdlScalar[]][] = [
    ["network", [
      `${formatIp({ family: p.network.family, value: p.network.addr })}/${p.network.prefix}`,
    ]],
    ["gateway", p.gateway ? [formatIp(p.gateway)] : []],
    ["range", p.rangeStart && p.rangeEnd ? [formatIp(p.rangeStart), formatIp(p.rangeEnd)] : []],
    ["stub", opt(p.stub)],
    ["dns", p.dns.map(formatIp)],
    ["domain", opt(p.domain)],
    ["reserve", p.reserved.map(formatIpRange)],
  ];
  return buildDocument(lines, `pool ${p.name}`);
}

/** Text of a new template file. */
export function writeTemplate(t: ZoneTemplate, comment?: string): string {
  return buildDocument([
    ["brand", [t.brand]],
    ["autoboot", [t.autoboot]],
    ["ip-type", [t.ipType]],
    ["pool", opt(t.pool)],
    ...t.publishers.map((p): [string, KdlScalar[]] => ["publisher", [p]]),
  ], comment ?? `template ${t.name}`);
}

/** Text of a new publisher file. */
export function writePublisher(p: Publisher): string {
  return buildDocument([["origin", [p.origin]]], `IPS publisher ${p.name}`);
}

/** Text of a new config.kdl. */
export function writeConfig(c: ZoneConfig): string {
  return buildDocument([
    ["default-template", [c.defaultTemplate]],
    ["zonepath-root", [c.zonepathRoot]],
    ["vnic-pattern", [c.vnicPattern]],
    ...c.sshKeys.map((k): [string, KdlScalar[]] => ["ssh-key", [k]]),
  ], "zmgr configuration (see docs/zones.md)");
}
