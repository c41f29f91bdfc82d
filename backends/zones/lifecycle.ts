/**
 * Zone lifecycle beyond create: destroy (halt, uninstall -F, delete -F,
 * delete-vnic, remove the entry), boot/halt/reboot, and the list/show views
 * that join registry entries with the live `zoneadm list -cp` state.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { validateZoneName } from "../../lib/zones/names.ts";
import type { ZoneEntry } from "../../lib/zones/schema.ts";
import type { Runner } from "../exec.ts";
import {
  entityPath,
  loadAllZones,
  loadZone,
  type Registry,
  removeFile,
  withRegistryLock,
} from "./registry.ts";
import { INSTALL_TIMEOUT_MS, listSystemZones, step, vnicExists, zoneState } from "./system.ts";
import { leftoverZoneDataset } from "./zfs.ts";

/** What destroy did (or would do). */
export interface DestroyResult {
  name: string;
  steps: string[];
  registryRemoved: boolean;
}

/** Destroy a registered zone; each step is skipped when already done, so a retry finishes the job. */
export async function destroyZone(
  reg: Registry,
  runner: Runner,
  name: string,
  opts: { keepRegistry?: boolean } = {},
): Promise<DestroyResult> {
  validateZoneName(name);
  const entry = await loadZone(reg, name);
  const steps: string[] = [];
  const state = await zoneState(runner, name);
  const hint = `fix the cause and run \`zmgr destroy ${name}\` again; finished steps are skipped`;
  if (state === "running" || state === "ready" || state === "shutting_down") {
    await step(runner, ["zoneadm", "-z", name, "halt"], hint);
    steps.push("halted");
  }
  if (state !== undefined && state !== "configured") {
    await step(runner, ["zoneadm", "-z", name, "uninstall", "-F"], hint, {
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
    steps.push("uninstalled");
  }
  if (state !== undefined) {
    await step(runner, ["zonecfg", "-z", name, "delete", "-F"], hint);
    steps.push("deleted the configuration");
  }
  // uninstall removes the zone's dataset; one left behind (an interrupted
  // uninstall) goes too when zmgr's create made it, and is reported otherwise.
  const uninstalledInPlan = runner.dryRun && steps.includes("uninstalled");
  const left = uninstalledInPlan ? undefined : await leftoverZoneDataset(runner, entry);
  if (left?.ours) {
    await step(runner, ["zfs", "destroy", "-r", left.name], hint);
    steps.push(`destroyed dataset ${left.name}`);
  } else if (left) {
    steps.push(`kept dataset ${left.name} at ${entry.zonepath} (zmgr did not create it)`);
  }
  if (entry.vnic && await vnicExists(runner, entry.vnic)) {
    await step(runner, ["dladm", "delete-vnic", entry.vnic], hint);
    steps.push(`deleted VNIC ${entry.vnic}`);
  }
  let registryRemoved = false;
  if (!opts.keepRegistry) {
    if (!runner.dryRun) {
      await withRegistryLock(reg, () => removeFile(entityPath(reg, "zones", name)));
    }
    registryRemoved = true;
    steps.push(
      `removed the registry entry${
        entry.addresses.length ? ` (freed ${entry.addresses.join(", ")})` : ""
      }`,
    );
  }
  return { name, steps, registryRemoved };
}

/** Boot, halt or reboot a registered zone. */
export async function zoneAction(
  reg: Registry,
  runner: Runner,
  name: string,
  action: "boot" | "halt" | "reboot",
): Promise<void> {
  validateZoneName(name);
  assertNotCreating(await loadZone(reg, name));
  await step(
    runner,
    ["zoneadm", "-z", name, action],
    `check the zone with \`zoneadm -z ${name} list -v\``,
  );
}

/** One row of `zmgr list`. */
export interface ZoneView {
  name: string;
  brand: string;
  /** Live state from zoneadm, or `absent` when the system has no such zone. */
  state: string;
  status: string;
  /** The first address (the one allocated from the pool), kept for scripts that read one. */
  address: string | null;
  /** Every address the zone holds, one per net. */
  addresses: string[];
  pool: string | null;
  template: string | null;
  vnic: string | null;
  zonepath: string;
}

function view(e: ZoneEntry, state: string | undefined): ZoneView {
  return {
    name: e.name,
    brand: e.brand,
    state: state ?? "absent",
    status: e.status,
    address: e.addresses[0] ?? null,
    addresses: e.addresses,
    pool: e.pool ?? null,
    template: e.template ?? null,
    vnic: e.vnic ?? null,
    zonepath: e.zonepath,
  };
}

/** Every registered zone with its live state. */
export async function listZones(reg: Registry, runner: Runner): Promise<ZoneView[]> {
  const entries = await loadAllZones(reg);
  const live = new Map((await listSystemZones(runner)).map((z) => [z.name, z.state]));
  return entries.map((e) => view(e, live.get(e.name)));
}

/** One registered zone with its live state. */
export async function showZone(reg: Registry, runner: Runner, name: string): Promise<ZoneView> {
  validateZoneName(name);
  const entry = await loadZone(reg, name);
  return view(entry, await zoneState(runner, name));
}

/** Refuse to act on zones a create is still working on. */
export function assertNotCreating(e: ZoneEntry): void {
  if (e.status === "creating") {
    throw new Diagnostic("zmgr::zone::creating", `zone ${e.name} is still being created`, {
      hint: "wait for the create to finish; if it crashed, `zmgr destroy` cleans up",
    });
  }
}
