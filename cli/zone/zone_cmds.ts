/**
 * Actions of `zmgr create|destroy|boot|halt|reboot|list|show|import`.
 *
 * @module
 */
import { createZone } from "../../backends/zones/create.ts";
import { importZones } from "../../backends/zones/import.ts";
import { destroyZone, listZones, showZone, zoneAction } from "../../backends/zones/lifecycle.ts";
import { entityPath } from "../../backends/zones/registry.ts";
import { writeZoneEntry } from "../../lib/zones/schema.ts";
import { out, outJson, registry, renderCommands, renderFile, table, zoneRunner } from "./common.ts";

interface Common {
  root?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** `zmgr create NAME`. */
export async function createCmd(
  name: string,
  opts: Common & {
    template?: string;
    pool?: string[];
    address?: string;
    vnic?: string;
    boot?: boolean;
  },
): Promise<void> {
  const reg = registry(opts);
  const runner = zoneRunner(!!opts.dryRun);
  const r = await createZone(reg, runner, {
    name,
    template: opts.template,
    pools: opts.pool,
    address: opts.address,
    vnic: opts.vnic,
    noBoot: opts.boot === false,
  });
  if (opts.json) {
    outJson({
      ...r.entry,
      address: r.entry.addresses[0] ?? null,
      dryRun: r.dryRun,
      booted: r.booted && !r.dryRun,
      commands: runner.mutating,
      zonecfgScript: r.zonecfgScript,
      sysding: r.sysding ?? null,
    });
    return;
  }
  const e = r.entry;
  if (!r.dryRun) {
    out(
      `created zone ${e.name}: ${
        e.addresses.join(", ")
      } from pool ${e.pool}, VNIC ${e.vnic}, ${e.zonepath}${r.booted ? ", booted" : ""}`,
    );
    return;
  }
  out("dry run: nothing was changed");
  out(
    `would reserve ${
      e.addresses.join(", ")
    } from pool ${e.pool} (template ${e.template}, VNIC ${e.vnic}, zonepath ${e.zonepath})`,
  );
  const cmds = [...runner.mutating];
  const boot = r.booted ? cmds.pop() : undefined;
  out("would run:");
  for (const l of renderCommands(cmds)) out(l);
  if (r.sysding && r.sysdingPath) { for (const l of renderFile(r.sysdingPath, r.sysding)) out(l); }
  for (
    const l of renderFile(
      entityPath(reg, "zones", e.name),
      writeZoneEntry({ ...e, status: "active" }),
    )
  ) out(l);
  if (boot) {
    out("then run:");
    for (const l of renderCommands([boot])) out(l);
  }
}

/** `zmgr destroy NAME`. */
export async function destroyCmd(
  name: string,
  opts: Common & { keepRegistry?: boolean },
): Promise<void> {
  const reg = registry(opts);
  const runner = zoneRunner(!!opts.dryRun);
  const r = await destroyZone(reg, runner, name, { keepRegistry: opts.keepRegistry });
  if (opts.dryRun) {
    out("dry run: nothing was changed");
    out("would run:");
    for (const l of renderCommands(runner.mutating)) out(l);
    if (r.registryRemoved) out(`would remove ${entityPath(reg, "zones", name)}`);
    return;
  }
  out(`destroyed zone ${name}: ${r.steps.join(", ") || "nothing to do"}`);
}

/** `zmgr boot|halt|reboot NAME`. */
export async function actionCmd(
  action: "boot" | "halt" | "reboot",
  name: string,
  opts: Common,
): Promise<void> {
  const runner = zoneRunner(!!opts.dryRun);
  await zoneAction(registry(opts), runner, name, action);
  if (opts.dryRun) {
    out("dry run: nothing was changed");
    out("would run:");
    for (const l of renderCommands(runner.mutating)) out(l);
  }
}

/** `zmgr list`. */
export async function listCmd(opts: Common): Promise<void> {
  const zones = await listZones(registry(opts), zoneRunner(false));
  if (opts.json) return outJson(zones);
  if (zones.length === 0) return out("no zones registered (create one with `zmgr create NAME`)");
  out(table(
    ["NAME", "BRAND", "STATE", "ADDRESS", "POOL", "TEMPLATE", "VNIC"],
    zones.map((z) => [
      z.name,
      z.brand,
      z.status === "creating" ? `${z.state} (creating)` : z.state,
      z.addresses.join(",") || "-",
      z.pool ?? "-",
      z.template ?? "-",
      z.vnic ?? "-",
    ]),
  ));
}

/** `zmgr show NAME`. */
export async function showCmd(name: string, opts: Common): Promise<void> {
  const z = await showZone(registry(opts), zoneRunner(false), name);
  if (opts.json) return outJson(z);
  for (const [k, v] of Object.entries(z)) out(`${k.padEnd(9)} ${v ?? "-"}`);
}

/** `zmgr import`. */
export async function importCmd(opts: Common): Promise<void> {
  const runner = zoneRunner(!!opts.dryRun);
  const outcomes = await importZones(registry(opts), runner);
  if (opts.json) return outJson(outcomes);
  if (opts.dryRun) out("dry run: nothing was changed");
  const verb = opts.dryRun ? "would import" : "imported";
  for (const o of outcomes) {
    if (o.action === "imported") {
      out(
        `${verb} ${o.name}: template ${o.template}, pool ${o.pool ?? "-"}, address ${
          o.addresses?.join(", ") || "-"
        }${o.reason ? ` (${o.reason})` : ""}`,
      );
    } else if (o.action === "skipped") out(`skipped ${o.name}: ${o.reason}`);
    else out(`could not match ${o.name}: ${o.reason}`);
  }
  if (outcomes.length === 0) out("no zones to import");
}
