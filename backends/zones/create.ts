/**
 * `zmgr create`: template -> pool -> allocate (under the registry lock, with
 * the reservation written before anything slow) -> VNIC -> zonecfg ->
 * install -> sysding.conf -> registry entry active -> boot. Any failure
 * undoes the completed steps in reverse and reports the failing command.
 *
 * @module
 */
import { dirname, join } from "../../lib/posix_path.ts";
import { env } from "../../lib/paths.ts";
import { Diagnostic, toDiagnostics } from "../../lib/diagnostics.ts";
import { formatIp, type IpAddr, parseIp } from "../../lib/ipam.ts";
import { log } from "../../lib/log.ts";
import { validateLinkName, validateZoneName, vnicNameFor } from "../../lib/zones/names.ts";
import { writeZoneEntry, type ZoneEntry } from "../../lib/zones/schema.ts";
import { buildSysdingConf, SYSDING_BRANDS } from "../../lib/zones/sysding.ts";
import { buildZonecfgScript } from "../../lib/zones/zonecfg.ts";
import { formatArgv, type Runner } from "../exec.ts";
import {
  allocateNets,
  auditLedger,
  type NetAllocation,
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
  removeFile,
  withRegistryLock,
} from "./registry.ts";
import { INSTALL_TIMEOUT_MS, liveAddresses, step, zoneState } from "./system.ts";
import { requireZonepathDataset } from "./zfs.ts";

export interface CreateRequest {
  name: string;
  template?: string;
  /** Pools to take one address each from (default: the template's pool). */
  pools?: string[];
  address?: string;
  vnic?: string;
  noBoot?: boolean;
}

/** What create did (or, with --dry-run, would do). */
export interface CreateResult {
  entry: ZoneEntry;
  zonecfgScript: string;
  sysdingPath?: string;
  sysding?: string;
  booted: boolean;
  dryRun: boolean;
}

interface Undo {
  what: string;
  /** Undo the step; false when there was nothing to undo (the step never took effect). */
  run: () => Promise<boolean>;
}

/** Create zone `req.name`. */
export async function createZone(
  reg: Registry,
  runner: Runner,
  req: CreateRequest,
): Promise<CreateResult> {
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
  // One address (one net) per pool, e.g. a v4 and a v6 pool for a dual-stack zone.
  const pools = await Promise.all(poolNames.map((p) => loadPool(reg, p)));
  const pool = pools[0];
  const stub = zoneStub(pools);
  const publishers = [];
  for (const p of template.publishers) publishers.push(await loadPublisher(reg, p));
  const vnic = req.vnic ? validateLinkName(req.vnic) : vnicNameFor(name, config.vnicPattern);
  const zonepath = join(config.zonepathRoot, name);

  // Queries of the live system, run side by side: whether the name is taken,
  // the zonepath root's dataset, and the addresses of every zone on the host
  // (made by hand or by another tool, so the registry may not know them).
  const registered = new Set(await listEntityNames(reg, "zones"));
  const [existing, live] = await Promise.all([
    zoneState(runner, name),
    liveAddresses(runner, registered),
    requireZonepathDataset(runner, config.zonepathRoot),
  ]);
  if (existing !== undefined) {
    throw new Diagnostic(
      "zmgr::zone::exists",
      `zone ${name} already exists on this system (${existing})`,
      {
        hint: "choose another name, or register the existing zone with `zmgr import`",
      },
    );
  }

  // Read-allocate-reserve under the lock; the reservation is on disk before
  // anything slow happens, so concurrent creates never pick the same address.
  let nets: NetAllocation[] = [];
  const reserve = async (): Promise<ZoneEntry> => {
    const zones = await loadAllZones(reg);
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
        {
          hint: "pass --vnic NAME, or change vnic-pattern in config.kdl",
        },
      );
    }
    for (const p of auditLedger(zones, pools)) log.warn(p);
    if (req.address) refuseLiveAddress(req.address, live, zones);
    const used = [...usedAddresses(zones), ...live.map((l) => l.address)];
    nets = allocateNets(pools, used, req.address);
    const entry: ZoneEntry = {
      name,
      brand: template.brand,
      template: template.name,
      pool: pool.name,
      addresses: nets.map((n) => n.address),
      gateway: pool.gateway ? formatIp(pool.gateway) : undefined,
      vnic,
      zonepath,
      status: "creating",
      imported: false,
      created: new Date().toISOString(),
    };
    if (!runner.dryRun) await atomicWrite(entityPath(reg, "zones", name), writeZoneEntry(entry));
    return entry;
  };
  const entry = runner.dryRun ? await reserve() : await withRegistryLock(reg, reserve);

  const boot = template.autoboot && !req.noBoot;
  const entryPath = entityPath(reg, "zones", name);

  const undo: Undo[] = [];
  if (!runner.dryRun) {
    undo.push({
      what: `remove the registry reservation ${entryPath}`,
      run: () => withRegistryLock(reg, () => removeFile(entryPath)),
    });
  }
  let current = "";
  let script = "";
  let sysding: string | undefined;
  let sysdingPath: string | undefined;
  // A Ctrl-C or SIGTERM while a step runs must not leave half a zone behind:
  // the signal is noted, the running step finishes (or fails), then the
  // create rolls back like any other failure.
  const stop = runner.dryRun ? undefined : trapSignals();
  try {
    current = "prepare the zone configuration";
    script = buildZonecfgScript({
      brand: template.brand,
      zonepath,
      autoboot: boot,
      vnic,
      nets: nets.map((n) => ({ allowedAddress: n.address, defrouter: n.defrouter })),
    });
    if (SYSDING_BRANDS.includes(template.brand)) {
      sysding = buildSysdingConf({
        hostname: name,
        dns: pool.dns.map(formatIp),
        domain: pool.domain,
        sshKeys: config.sshKeys,
      });
      sysdingPath = join(zonepath, "root", "etc", "sysding.conf");
    }

    current = "create the VNIC";
    await step(
      runner,
      ["dladm", "create-vnic", "-l", stub, vnic],
      `check that link ${stub} exists (dladm show-link) and that ${vnic} is free`,
    );
    undo.push(undoCmd(runner, ["dladm", "delete-vnic", vnic]));
    stop?.check();

    current = "configure the zone";
    // zonecfg reading a script on stdin goes on after an error and may still
    // commit while exiting 1: undo whatever configuration now exists.
    undo.push(
      undoWhen(runner, name, ["configured", "incomplete"], ["zonecfg", "-z", name, "delete", "-F"]),
    );
    await step(
      runner,
      ["zonecfg", "-z", name, "-f", "-"],
      "the zonecfg script is shown with --dry-run",
      { stdin: script },
    );
    stop?.check();

    current = "install the zone";
    // The ipkg/nlipkg installers keep only the last -P: pass the preferred
    // publisher there and add the others to the installed image below.
    const [preferred, ...others] = publishers;
    const installArgs = preferred ? ["-P", `${preferred.name}=${preferred.origin}`] : [];
    undo.push(
      undoWhen(runner, name, ["installed", "incomplete"], [
        "zoneadm",
        "-z",
        name,
        "uninstall",
        "-F",
      ]),
    );
    await step(
      runner,
      ["zoneadm", "-z", name, "install", ...installArgs],
      "the installer's error is shown above; the zone was rolled back, so fix the cause and create it again",
      { timeoutMs: INSTALL_TIMEOUT_MS },
    );
    stop?.check();

    for (const p of others) {
      current = `add publisher ${p.name} to the zone's image`;
      await step(
        runner,
        ["pkg", "-R", join(zonepath, "root"), "set-publisher", "-g", p.origin, p.name],
        `check that ${p.origin} is reachable from this host`,
      );
      stop?.check();
    }

    if (sysding && sysdingPath && !runner.dryRun) {
      current = "write the first-boot configuration";
      const hostPath = join(zoneAltroot(), sysdingPath);
      await Deno.mkdir(dirname(hostPath), { recursive: true });
      await atomicWrite(hostPath, sysding, 0o600);
      stop?.check();
    }

    current = "finalise the registry entry";
    entry.status = "active";
    if (!runner.dryRun) {
      await withRegistryLock(reg, () => atomicWrite(entryPath, writeZoneEntry(entry)));
    }

    if (boot) {
      current = "boot the zone";
      undo.push(undoWhen(runner, name, ["running", "ready"], ["zoneadm", "-z", name, "halt"]));
      await step(
        runner,
        ["zoneadm", "-z", name, "boot"],
        `inspect the zone with \`zoneadm -z ${name} list -v\``,
      );
      stop?.check();
    }
  } catch (err) {
    throw await rollback(name, current, err, undo);
  } finally {
    stop?.release();
  }
  return {
    entry,
    zonecfgScript: script,
    sysding,
    sysdingPath,
    booted: boot,
    dryRun: runner.dryRun,
  };
}

/** `--address` held by a zone on the system that the registry does not list. */
function refuseLiveAddress(
  requested: string,
  live: { zone: string; address: IpAddr }[],
  zones: ZoneEntry[],
): void {
  const ip = parseIp(requested.split("/")[0]);
  const holder = ip &&
    live.find((l) => l.address.family === ip.family && l.address.value === ip.value);
  if (!holder || zones.some((z) => z.name === holder.zone)) return;
  throw new Diagnostic(
    "zmgr::address::in_use",
    `address ${formatIp(ip)} is used by zone ${holder.zone}, which is not in the registry`,
    { hint: "choose another address, or register that zone with `zmgr import`" },
  );
}

/** Signals noted while a create runs; `check()` throws once one arrived. */
interface SignalTrap {
  check(): void;
  release(): void;
}

function trapSignals(): SignalTrap {
  let caught: string | undefined;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const h = () => {
      caught = sig;
    };
    Deno.addSignalListener(sig, h);
    return [sig, h] as const;
  });
  return {
    check() {
      if (caught) {
        throw new Diagnostic("zmgr::create::interrupted", `interrupted by ${caught}`, {
          hint: "the create was rolled back; run it again when you are ready",
          exitCode: 130,
        });
      }
    },
    release() {
      for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
    },
  };
}

/**
 * Host directory the zonepaths are found under: `/`, or $ZMGR_ALTROOT (an
 * alternate root, like illumos' `-R`; the tests point it at the fake host's
 * file system).
 */
export function zoneAltroot(): string {
  return env("ZMGR_ALTROOT") || "/";
}

function undoCmd(runner: Runner, argv: string[]): Undo {
  return {
    what: formatArgv(argv),
    run: async () => {
      await runner.run(argv, { errorCode: "zmgr::exec::failed", timeoutMs: INSTALL_TIMEOUT_MS });
      return true;
    },
  };
}

/** An undo step that only runs when the zone is in one of `states` (a half-done step). */
function undoWhen(runner: Runner, name: string, states: string[], argv: string[]): Undo {
  const cmd = undoCmd(runner, argv);
  return {
    what: cmd.what,
    run: async () => {
      const state = await zoneState(runner, name);
      return state !== undefined && states.includes(state) && await cmd.run();
    },
  };
}

/** Undo completed steps in reverse; the result names the failed step and what was undone. */
async function rollback(
  name: string,
  stepName: string,
  err: unknown,
  undo: Undo[],
): Promise<Diagnostic> {
  const cause = toDiagnostics(err)[0];
  const details = [...cause.details];
  for (const u of undo.reverse()) {
    try {
      if (await u.run()) details.push(`rolled back: ${u.what}`);
    } catch (e) {
      details.push(`ROLLBACK FAILED: ${u.what}: ${toDiagnostics(e)[0].message}`);
    }
  }
  const message = cause.code === "zmgr::create::interrupted"
    ? `creating zone ${name} was ${cause.message} (after: ${stepName})`
    : `creating zone ${name} failed (could not ${stepName}): ${cause.message}`;
  return new Diagnostic(cause.code, message, {
    details,
    hint: cause.hint ?? "fix the cause and run the create again",
    exitCode: cause.exitCode,
    cause: err,
  });
}
