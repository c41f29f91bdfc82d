/**
 * `zmgr create`: the read-only queries first (template, pool, whether the name
 * is taken, the zonepath root's dataset, every live address), then one plan:
 * reserve the address (under the registry lock, before anything slow) ->
 * VNIC -> zonecfg -> install -> publishers -> sysding.conf -> registry entry
 * active -> boot, each step with its undo. `apply` runs it and undoes the
 * completed steps in reverse on a failure or an interrupt; `--dry-run` prints
 * the same plan.
 *
 * @module
 */
import { join } from "../../lib/posix_path.ts";
import { env } from "../../lib/paths.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { formatIp, parseIp, sameIp } from "../../lib/ipam.ts";
import { log } from "../../lib/log.ts";
import { GO_ONLINE, isOffline } from "../../lib/offline.ts";
import { apply, type Failure, failureMessage, writeStep } from "../apply.ts";
import { type Plan, plan, type Step } from "../../lib/plan.ts";
import { validateLinkName, validateZoneName, vnicNameFor } from "../../lib/zones/names.ts";
import {
  type Pool,
  type Publisher,
  writeZoneEntry,
  type ZoneConfig,
  type ZoneEntry,
  type ZoneTemplate,
} from "../../lib/zones/schema.ts";
import { buildSysdingConf, SYSDING_BRANDS } from "../../lib/zones/sysding.ts";
import { buildZonecfgScript } from "../../lib/zones/zonecfg.ts";
import type { Runner } from "../exec.ts";
import {
  allocateNets,
  auditLedger,
  type LiveAddress,
  usedAddresses,
  zoneStub,
} from "../../lib/zones/ledger.ts";
import {
  atomicWrite,
  entityPath,
  listEntityNames,
  loadAllZones,
  loadConfig,
  loadPool,
  loadPublisher,
  loadTemplate,
  type Registry,
  registryRemoveUndo,
  registryStep,
} from "./registry.ts";
import {
  allQueries,
  INSTALL_TIMEOUT_MS,
  liveAddresses,
  zoneState,
  zoneStep,
  zoneUndo,
} from "./system.ts";
import { requireZonepathDataset } from "./zfs.ts";

export interface CreateRequest {
  name: string;
  template?: string;
  /** One address (one net) from each pool, in order; default: the template's pool. */
  pools?: string[];
  address?: string;
  vnic?: string;
  noBoot?: boolean;
}

/** The create's plan and what it holds (applied unless it was a dry run). */
export interface CreateResult {
  plan: Plan;
  entry: ZoneEntry;
  zonecfgScript: string;
  sysdingPath?: string;
  sysding?: string;
  booted: boolean;
  dryRun: boolean;
}

/** What the plan is made from: the registry's files and the live system's answers. */
interface CreateFacts {
  req: CreateRequest;
  name: string;
  config: ZoneConfig;
  template: ZoneTemplate;
  /** The zone's pools, one net each (a v4 and a v6 pool for a dual-stack zone). */
  pools: Pool[];
  /** The link the zone's one VNIC goes over, the same for every pool. */
  stub: string;
  publishers: Publisher[];
  vnic: string;
  zonepath: string;
  boot: boolean;
  live: LiveAddress[];
}

/** Code of a reservation that lost its address to a concurrent create (nothing was done). */
const RESERVE_RACE = "zmgr::create::address_taken_meanwhile";
/**
 * Each lost race means another create reserved an address, so re-planning
 * ends; the bound only turns a registry that keeps changing into an error.
 */
const MAX_PLANS = 1000;

/** Create zone `req.name`, or with `dryRun` only plan it. */
export async function createZone(
  reg: Registry,
  runner: Runner,
  req: CreateRequest,
  opts: { dryRun?: boolean } = {},
): Promise<CreateResult> {
  const facts = await createFacts(reg, runner, req);
  for (let attempt = 1;; attempt++) {
    const entry = allocateEntry(facts, await loadAllZones(reg), attempt === 1);
    const r = createPlan(reg, runner, facts, entry);
    if (opts.dryRun) return { ...r, dryRun: true };
    try {
      await apply(r.plan, {
        what: `creating zone ${facts.name}`,
        interruptCode: "zmgr::create::interrupted",
        interruptHint: "the create was rolled back; run it again when you are ready",
        hint: "fix the cause and run the create again",
        message: createFailureMessage,
      });
    } catch (err) {
      // Another create took the planned address between the plan and the
      // reservation: plan again from the registry as it is now.
      if (err instanceof Diagnostic && err.code === RESERVE_RACE && attempt < MAX_PLANS) continue;
      throw err;
    }
    return { ...r, entry: { ...entry, status: "active" }, dryRun: false };
  }
}

function createFailureMessage(f: Failure): string {
  if (f.interrupted) {
    return `${f.what} was ${f.cause.message}${f.step ? ` (after: ${f.step.title})` : ""}`;
  }
  // A refused reservation changed nothing: its own message says it all.
  if (f.step?.title === RESERVE_TITLE) return f.cause.message;
  return failureMessage(f);
}

const RESERVE_TITLE = "reserve the address";

/** The registry's files and the live system's answers a create is planned from. */
async function createFacts(
  reg: Registry,
  runner: Runner,
  req: CreateRequest,
): Promise<CreateFacts> {
  const name = validateZoneName(req.name);
  const config = await loadConfig(reg);
  const template = await loadTemplate(reg, req.template ?? config.defaultTemplate);
  const poolNames = req.pools?.length ? req.pools : template.pool ? [template.pool] : [];
  if (!poolNames.length) {
    throw new Diagnostic("zmgr::pool::not_given", `template ${template.name} names no pool`, {
      hint:
        `pass --pool NAME, or add \`pool "NAME"\` to the template (zmgr template edit ${template.name} --pool NAME)`,
    });
  }
  const pools = await Promise.all(poolNames.map((p) => loadPool(reg, p)));
  const stub = zoneStub(pools);
  const publishers = [];
  for (const p of template.publishers) publishers.push(await loadPublisher(reg, p));
  refuseNetworkPublishersOffline(template.name, publishers);
  const vnic = req.vnic ? validateLinkName(req.vnic) : vnicNameFor(name, config.vnicPattern);

  // Queries of the live system, run side by side: whether the name is taken,
  // the zonepath root's dataset, and the addresses of every zone on the host
  // (made by hand or by another tool, so the registry may not know them).
  const registered = new Set(await listEntityNames(reg, "zones"));
  const [existing, live] = await allQueries<
    [string | undefined, LiveAddress[], void]
  >([
    zoneState(runner, name),
    liveAddresses(runner, registered),
    requireZonepathDataset(runner, config.zonepathRoot),
  ]);
  if (existing !== undefined) {
    throw new Diagnostic(
      "zmgr::zone::exists",
      `zone ${name} already exists on this system (${existing})`,
      { hint: "choose another name, or register the existing zone with `zmgr import`" },
    );
  }
  return {
    req,
    name,
    config,
    template,
    pools,
    stub,
    publishers,
    vnic,
    zonepath: join(config.zonepathRoot, name),
    boot: template.autoboot && !req.noBoot,
    live,
  };
}

/** The new zone's entry, its addresses allocated against `zones` and the live system. */
function allocateEntry(f: CreateFacts, zones: ZoneEntry[], warn: boolean): ZoneEntry {
  const { name, vnic, pools } = f;
  if (zones.some((z) => z.name === name)) {
    throw new Diagnostic("zmgr::zone::registered", `zone ${name} is already in the registry`, {
      hint: `destroy it first (zmgr destroy ${name}) or choose another name`,
    });
  }
  const clash = zones.find((z) => z.vnic === vnic);
  if (clash) {
    throw new Diagnostic(
      "zmgr::vnic::in_use",
      `VNIC ${vnic} is already used by zone ${clash.name}`,
      { hint: "pass --vnic NAME, or change vnic-pattern in config.kdl" },
    );
  }
  if (warn) { for (const p of auditLedger(zones, pools)) log.warn(p); }
  if (f.req.address) refuseLiveAddress(f.req.address, f.live, zones);
  const used = [...usedAddresses(zones), ...f.live.map((l) => l.address)];
  const nets = allocateNets(pools, used, f.req.address);
  return {
    name,
    brand: f.template.brand,
    template: f.template.name,
    pool: pools[0].name,
    addresses: nets.map((n) => n.address),
    gateway: nets[0].defrouter,
    vnic,
    zonepath: f.zonepath,
    status: "creating",
    imported: false,
    created: new Date().toISOString(),
  };
}

/** The steps of the create, each with its undo. */
function createPlan(
  reg: Registry,
  runner: Runner,
  f: CreateFacts,
  entry: ZoneEntry,
): Omit<CreateResult, "dryRun"> {
  const { script, sysding, sysdingPath } = zoneFiles(f, entry);
  const path = entityPath(reg, "zones", f.name);
  const active = writeZoneEntry({ ...entry, status: "active" });
  const steps: Step[] = [
    reserveStep(reg, f, entry),
    ...configSteps(runner, f, script),
    ...installSteps(runner, f),
    ...(sysding && sysdingPath ? [sysdingStep(sysdingPath, sysding)] : []),
    registryStep(
      reg,
      "finalise the registry entry",
      path,
      "status active",
      () => atomicWrite(path, active),
    ),
  ];
  if (f.boot) {
    steps.push(zoneStep(
      runner,
      "boot the zone",
      ["zoneadm", "-z", f.name, "boot"],
      `inspect the zone with \`zoneadm -z ${f.name} list -v\``,
      {
        undo: zoneUndo(runner, ["zoneadm", "-z", f.name, "halt"], {
          zone: f.name,
          states: ["running", "ready"],
        }),
      },
    ));
  }
  return {
    plan: plan(`create zone ${f.name}`, steps),
    entry,
    zonecfgScript: script,
    sysding,
    sysdingPath,
    booted: f.boot,
  };
}

/**
 * The VNIC, then the configuration. zonecfg reading a script on stdin goes
 * on after an error and may still commit while exiting 1, so its undo is
 * armed even when it fails, and deletes whatever configuration exists then.
 */
function configSteps(runner: Runner, f: CreateFacts, script: string): Step[] {
  const { name, stub, vnic } = f;
  return [
    zoneStep(
      runner,
      "create the VNIC",
      ["dladm", "create-vnic", "-l", stub, vnic],
      `check that link ${stub} exists (dladm show-link) and that ${vnic} is free`,
      { undo: zoneUndo(runner, ["dladm", "delete-vnic", vnic]) },
    ),
    zoneStep(
      runner,
      "configure the zone",
      ["zonecfg", "-z", name, "-f", "-"],
      "the zonecfg script is shown with --dry-run",
      {
        stdin: script,
        undo: zoneUndo(runner, ["zonecfg", "-z", name, "delete", "-F"], {
          zone: name,
          states: ["configured", "incomplete"],
        }),
      },
    ),
  ];
}

/** Each address of `entry` with its pool's gateway as defrouter (one net per pool). */
function netsOf(f: CreateFacts, entry: ZoneEntry) {
  return entry.addresses.map((allowedAddress, i) => {
    const gateway = f.pools[i].gateway;
    return { allowedAddress, defrouter: gateway ? formatIp(gateway) : undefined };
  });
}

/** The zonecfg script and, for the brands that read one, sysding.conf and its path in the zone. */
function zoneFiles(f: CreateFacts, entry: ZoneEntry) {
  const script = buildZonecfgScript({
    brand: f.template.brand,
    zonepath: f.zonepath,
    autoboot: f.boot,
    vnic: f.vnic,
    nets: netsOf(f, entry),
  });
  if (!SYSDING_BRANDS.includes(f.template.brand)) return { script };
  const sysding = buildSysdingConf({
    hostname: f.name,
    dns: f.pools[0].dns.map(formatIp),
    domain: f.pools[0].domain,
    sshKeys: f.config.sshKeys,
  });
  return { script, sysding, sysdingPath: join(f.zonepath, "root", "etc", "sysding.conf") };
}

/**
 * Write the entry (status creating) under the lock, after checking again
 * that the name, the VNIC and the planned address are still free: concurrent
 * creates never pick the same address.
 */
function reserveStep(reg: Registry, f: CreateFacts, entry: ZoneEntry): Step {
  const path = entityPath(reg, "zones", f.name);
  return registryStep(
    reg,
    RESERVE_TITLE,
    path,
    `reserve ${
      entry.addresses.join(", ")
    } from pool ${entry.pool} (template ${entry.template}, VNIC ${entry.vnic}, zonepath ${entry.zonepath}), status creating`,
    async () => {
      const now = allocateEntry(f, await loadAllZones(reg), false);
      if (now.addresses.join() !== entry.addresses.join()) {
        throw new Diagnostic(RESERVE_RACE, `${entry.addresses.join(", ")} was taken meanwhile`);
      }
      await atomicWrite(path, writeZoneEntry(entry));
    },
    registryRemoveUndo(reg, path, "remove the registry reservation"),
  );
}

/**
 * `zoneadm install` and the extra publishers. The ipkg/nlipkg installers keep
 * only the last -P: the preferred publisher goes there, the others are added
 * to the installed image.
 */
function installSteps(runner: Runner, f: CreateFacts): Step[] {
  const [preferred, ...others] = f.publishers;
  const installArgs = preferred ? ["-P", `${preferred.name}=${preferred.origin}`] : [];
  return [
    zoneStep(
      runner,
      "install the zone",
      ["zoneadm", "-z", f.name, "install", ...installArgs],
      "the installer's error is shown above; the zone was rolled back, so fix the cause and create it again",
      {
        timeoutMs: INSTALL_TIMEOUT_MS,
        undo: zoneUndo(runner, ["zoneadm", "-z", f.name, "uninstall", "-F"], {
          zone: f.name,
          states: ["installed", "incomplete"],
        }),
      },
    ),
    ...others.map((p) =>
      zoneStep(
        runner,
        `add publisher ${p.name} to the zone's image`,
        ["pkg", "-R", join(f.zonepath, "root"), "set-publisher", "-g", p.origin, p.name],
        `check that ${p.origin} is reachable from this host`,
      )
    ),
  ];
}

/**
 * Offline, the install must not fetch packages: a template publisher with an http(s) origin is
 * refused before anything changes. Without publishers the install uses the global zone's own,
 * which are the host's configuration (on an air-gapped host, a local repository).
 */
function refuseNetworkPublishersOffline(template: string, publishers: Publisher[]): void {
  if (!isOffline()) return;
  const remote = publishers.filter((p) => !p.origin.startsWith("file://"));
  if (!remote.length) return;
  throw new Diagnostic(
    "zmgr::create::offline_publisher",
    `offline: template ${template} installs from ${
      remote.map((p) => `${p.name} (${p.origin})`).join(", ")
    } over the network`,
    {
      hint: `copy the repository to this host and point the publisher at it ` +
        `(\`zmgr publisher add NAME file:///path/to/repo\`), or ${GO_ONLINE}`,
    },
  );
}

/** sysding.conf in the zone's root (removed with the zone by the uninstall undo). */
function sysdingStep(zonePath: string, text: string): Step {
  const path = join(zoneAltroot(), zonePath);
  return writeStep(
    "write the first-boot configuration",
    { path, mode: 0o600, text },
    () => atomicWrite(path, text, 0o600),
  );
}

/** `--address` held by a zone on the system that the registry does not list. */
function refuseLiveAddress(
  requested: string,
  live: LiveAddress[],
  zones: ZoneEntry[],
): void {
  const ip = parseIp(requested.split("/")[0]);
  const holder = ip &&
    live.find((l) => sameIp(l.address, ip));
  if (!holder || zones.some((z) => z.name === holder.zone)) return;
  throw new Diagnostic(
    "zmgr::address::in_use",
    `address ${formatIp(ip)} is used by zone ${holder.zone}, which is not in the registry`,
    { hint: "choose another address, or register that zone with `zmgr import`" },
  );
}

/**
 * Host directory the zonepaths are found under: `/`, or $ZMGR_ALTROOT (an
 * alternate root, like illumos' `-R`; the tests point it at the fake host's
 * file system).
 */
export function zoneAltroot(): string {
  return env("ZMGR_ALTROOT") || "/";
}
