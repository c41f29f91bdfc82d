/**
 * Actions of `zmgr create|destroy|boot|halt|reboot|list|show|import`.
 *
 * @module
 */
import { createZone } from "../../backends/zones/create.ts";
import { importZones } from "../../backends/zones/import.ts";
import { destroyZone, listZones, showZone, zoneAction } from "../../backends/zones/lifecycle.ts";
import type { Plan } from "../../lib/plan.ts";
import { done, out, outJson, registry, showPlan, table, zoneRunner } from "./common.ts";

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
  const r = await createZone(registry(opts), zoneRunner(), {
    name,
    template: opts.template,
    pools: opts.pool,
    address: opts.address,
    vnic: opts.vnic,
    noBoot: opts.boot === false,
  }, { dryRun: opts.dryRun });
  const e = r.entry;
  if (opts.dryRun) return showPlan(r.plan, opts.json, { zone: { ...e, address: e.addresses[0] } });
  if (opts.json) {
    return outJson({
      ...e,
      address: e.addresses[0] ?? null,
      dryRun: false,
      booted: r.booted,
      commands: commandsOf(r.plan),
      zonecfgScript: r.zonecfgScript,
      sysding: r.sysding ?? null,
    });
  }
  out(
    `created zone ${e.name}: ${
      e.addresses.join(", ")
    } from pool ${e.pool}, VNIC ${e.vnic}, ${e.zonepath}${r.booted ? ", booted" : ""}`,
  );
}

/** The commands a plan runs, with their stdin. */
function commandsOf(p: Plan): { argv: string[]; stdin?: string }[] {
  return p.steps.flatMap((s) =>
    s.action.kind !== "run" ? [] : [
      s.action.stdin === undefined
        ? { argv: s.action.argv }
        : { argv: s.action.argv, stdin: s.action.stdin },
    ]
  );
}

/** `zmgr destroy NAME`. */
export async function destroyCmd(
  name: string,
  opts: Common & { keepRegistry?: boolean },
): Promise<void> {
  const r = await destroyZone(registry(opts), zoneRunner(), name, {
    keepRegistry: opts.keepRegistry,
    dryRun: opts.dryRun,
  });
  if (opts.dryRun) return showPlan(r.plan, opts.json);
  done(r.plan, opts.json, `destroyed zone ${name}: ${r.steps.join(", ") || "nothing to do"}`);
}

/** `zmgr boot|halt|reboot NAME`. */
export async function actionCmd(
  action: "boot" | "halt" | "reboot",
  name: string,
  opts: Common,
): Promise<void> {
  const p = await zoneAction(registry(opts), zoneRunner(), name, action, { dryRun: opts.dryRun });
  if (opts.dryRun) showPlan(p, opts.json);
  else if (opts.json) done(p, true, "");
}

/** `zmgr list`. */
export async function listCmd(opts: Common): Promise<void> {
  const zones = await listZones(registry(opts), zoneRunner());
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
      z.template ?? (z.vm ? `(VM ${z.vm})` : "-"),
      z.vnic ?? "-",
    ]),
  ));
}

/** `zmgr show NAME`. */
export async function showCmd(name: string, opts: Common): Promise<void> {
  const z = await showZone(registry(opts), zoneRunner(), name);
  if (opts.json) return outJson(z);
  for (const [k, v] of Object.entries(z)) out(`${k.padEnd(9)} ${v ?? "-"}`);
}

/** `zmgr import`. */
export async function importCmd(opts: Common): Promise<void> {
  const { outcomes, plan } = await importZones(registry(opts), zoneRunner(), {
    dryRun: opts.dryRun,
  });
  if (opts.json) {
    return opts.dryRun ? showPlan(plan, true, { outcomes }) : outJson(outcomes);
  }
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
  if (opts.dryRun) showPlan(plan);
}
