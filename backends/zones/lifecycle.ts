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
import type { ExecOptions, Runner } from "../exec.ts";
import { apply, taskStep } from "../apply.ts";
import { type Plan, plan, type Step } from "../../lib/plan.ts";
import {
  entityPath,
  loadAllZones,
  loadZone,
  type Registry,
  registryStep,
  removeFile,
} from "./registry.ts";
import {
  allQueries,
  AS_IS,
  INSTALL_TIMEOUT_MS,
  listSystemZones,
  vnicExists,
  zoneState,
  zoneStep,
} from "./system.ts";
import { datasetMountedAt, type LeftoverDataset, leftoverZoneDataset } from "./zfs.ts";

/** Destroy's plan and, once applied, what it did. */
export interface DestroyResult {
  name: string;
  plan: Plan;
  /** What each step that ran did, in order (past tense). */
  steps: string[];
  registryRemoved: boolean;
}

/**
 * Destroy a registered zone: the live state decides the steps, so each one
 * already done is left out and a retry finishes the job. Nothing is undone
 * on a failure (a half-destroyed zone is not restored).
 */
export async function destroyZone(
  reg: Registry,
  runner: Runner,
  name: string,
  opts: { keepRegistry?: boolean; dryRun?: boolean; forVm?: string } = {},
): Promise<DestroyResult> {
  validateZoneName(name);
  const entry = await loadZone(reg, name);
  if (opts.forVm !== entry.vm) assertNotVmZone(entry);
  const [state, left, vnic] = await allQueries<
    [string | undefined, LeftoverDataset | undefined, boolean]
  >([
    zoneState(runner, name),
    leftoverZoneDataset(runner, entry),
    entry.vnic ? vnicExists(runner, entry.vnic) : Promise.resolve(false),
  ]);
  const hint = `fix the cause and run \`zmgr destroy ${name}\` again; finished steps are skipped`;
  const did: string[] = [];
  const step = (title: string, argv: string[], done: string, o: ExecOptions = {}) =>
    reporting(zoneStep(runner, title, argv, hint, o), did, done);
  const steps = zoneRemovalSteps(name, state, step);
  const uninstalls = steps.some((x) => x.title === "uninstall the zone");
  if (left) steps.push(leftoverStep(runner, entry.zonepath, left, uninstalls, hint, did));
  if (entry.vnic && vnic) {
    steps.push(
      step("delete the VNIC", ["dladm", "delete-vnic", entry.vnic], `deleted VNIC ${entry.vnic}`),
    );
  }
  if (!opts.keepRegistry) {
    const path = entityPath(reg, "zones", name);
    const freed = entry.addresses.length ? ` (freed ${entry.addresses.join(", ")})` : "";
    const remove = () => removeFile(path);
    steps.push(reporting(
      registryStep(reg, "remove the registry entry", path, `remove${freed}`, remove),
      did,
      `removed the registry entry${freed}`,
    ));
  }
  const p = plan(`destroy zone ${name}`, steps);
  if (!opts.dryRun) await apply(p, AS_IS);
  return { name, plan: p, steps: did, registryRemoved: !opts.keepRegistry };
}

/** halt (if running), uninstall (if installed), delete the configuration (if the system has the zone). */
function zoneRemovalSteps(
  name: string,
  state: string | undefined,
  step: (title: string, argv: string[], done: string, o?: ExecOptions) => Step,
): Step[] {
  const steps: Step[] = [];
  if (state === "running" || state === "ready" || state === "shutting_down") {
    steps.push(step("halt the zone", ["zoneadm", "-z", name, "halt"], "halted"));
  }
  if (state !== undefined && state !== "configured") {
    steps.push(
      step("uninstall the zone", ["zoneadm", "-z", name, "uninstall", "-F"], "uninstalled", {
        timeoutMs: INSTALL_TIMEOUT_MS,
      }),
    );
  }
  if (state !== undefined) {
    steps.push(
      step(
        "delete the configuration",
        ["zonecfg", "-z", name, "delete", "-F"],
        "deleted the configuration",
      ),
    );
  }
  return steps;
}

/** `s`, noting `done` in `did` once its run did something. */
function reporting(s: Step, did: string[], done: string): Step {
  return {
    ...s,
    run: async (interrupted) => {
      if (await s.run(interrupted) !== NOTHING_DONE) did.push(done);
    },
  };
}

/** What a step's run resolves to when it found nothing to do. */
const NOTHING_DONE = Symbol("nothing done");

/**
 * A dataset mounted at the zonepath. uninstall normally removes it; one left
 * behind (an interrupted uninstall) is destroyed when zmgr's create made it
 * and reported otherwise. After an uninstall in the same plan, the step acts
 * only if the dataset is still there.
 */
function leftoverStep(
  runner: Runner,
  zonepath: string,
  left: LeftoverDataset,
  afterUninstall: boolean,
  hint: string,
  did: string[],
): Step {
  const stillThere = async () =>
    !afterUninstall || await datasetMountedAt(runner, zonepath) === left.name;
  if (!left.ours) {
    const kept = `kept dataset ${left.name} at ${zonepath} (zmgr did not create it)`;
    return taskStep(`keep dataset ${left.name} if it is still there`, kept, async () => {
      if (await stillThere()) did.push(kept);
    });
  }
  const s = zoneStep(
    runner,
    `destroy dataset ${left.name}`,
    ["zfs", "destroy", "-r", left.name],
    hint,
  );
  return reporting(
    {
      ...s,
      title: afterUninstall ? `${s.title} if the uninstall left it` : s.title,
      run: async (interrupted) => await stillThere() ? await s.run(interrupted) : NOTHING_DONE,
    },
    did,
    `destroyed dataset ${left.name}`,
  );
}

/** Boot, halt or reboot a registered zone (with `dryRun`, only plan it). */
export async function zoneAction(
  reg: Registry,
  runner: Runner,
  name: string,
  action: "boot" | "halt" | "reboot",
  opts: { dryRun?: boolean } = {},
): Promise<Plan> {
  validateZoneName(name);
  const entry = await loadZone(reg, name);
  assertNotCreating(entry);
  assertNotVmZone(entry);
  const p = plan(`${action} zone ${name}`, [zoneStep(
    runner,
    `${action} the zone`,
    ["zoneadm", "-z", name, action],
    `check the zone with \`zoneadm -z ${name} list -v\``,
  )]);
  if (!opts.dryRun) await apply(p, AS_IS);
  return p;
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
  /** The Propolis VM the zone runs, if it is a VM's zone. */
  vm: string | null;
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
    vm: e.vm ?? null,
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

/** Refuse to change the zone of a Propolis VM behind vmctl's back. */
export function assertNotVmZone(e: ZoneEntry): void {
  if (e.vm === undefined) return;
  throw new Diagnostic("zmgr::zone::vm_zone", `zone ${e.name} runs VM '${e.vm}'`, {
    hint:
      `manage it through the VM: \`vmctl stop ${e.vm}\`, \`vmctl start ${e.vm}\`, \`vmctl destroy ${e.vm}\``,
  });
}
