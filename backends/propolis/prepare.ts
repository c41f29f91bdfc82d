/**
 * Creating a Propolis VM's parts, as steps of the create plan (each with its
 * undo, each shown by `--dry-run`):
 *
 *   reserve the zone's and the guest's addresses (zone registry, under its
 *   lock; before the seed, which carries the guest's address)
 *   -> [seed] -> image volume (once per image) -> disk clone -> grow it
 *   -> guest VNIC -> zone VNIC -> zonecfg -> install -> seed and SMF
 *   manifest into the zone -> registry entry active
 *
 * Values only known when a step runs (the image's digest, the addresses
 * another create may take first) are planned with the best answer at plan
 * time and read again by the step.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { formatIp } from "../../lib/ipam.ts";
import type { Step } from "../../lib/plan.ts";
import { join } from "../../lib/posix_path.ts";
import {
  baseSnapshot,
  disksParent,
  diskVolume,
  guestVnicName,
  MANIFEST_IN_ZONE,
  SEED_IN_ZONE,
  serverArgv,
  serverManifest,
  vmZoneDevices,
  vmZoneMounts,
  vmZoneName,
} from "../../lib/propolis/layout.ts";
import { guestNetworkConfig, randomVnicMac } from "../../lib/propolis/ensure.ts";
import { PROPOLIS_PORT } from "../../lib/propolis/api.ts";
import { updateStore } from "../../lib/store.ts";
import type { PropolisParts, VmConfig, VmRecord } from "../../lib/types.ts";
import {
  allocateNets,
  auditLedger,
  type LiveAddress,
  usedAddresses,
  zoneStub,
} from "../../lib/zones/ledger.ts";
import { vnicNameFor } from "../../lib/zones/names.ts";
import type { Pool, VmZoneConfig, ZoneEntry } from "../../lib/zones/schema.ts";
import { writeZoneEntry } from "../../lib/zones/schema.ts";
import { buildZonecfgScript } from "../../lib/zones/zonecfg.ts";
import { log } from "../../lib/log.ts";
import { taskStep } from "../apply.ts";
import type { BackendContext, Making, PrepareSteps } from "../hypervisor.ts";
import type { Runner } from "../exec.ts";
import { zoneAltroot } from "../zones/create.ts";
import {
  atomicWrite,
  entityPath,
  listEntityNames,
  loadAllZones,
  loadConfig,
  loadPool,
  type Registry,
  registryAt,
  registryRemoveUndo,
  registryStep,
} from "../zones/registry.ts";
import {
  allQueries,
  INSTALL_TIMEOUT_MS,
  liveAddresses,
  vnicExists,
  zoneState,
  zoneStep,
  zoneUndo,
} from "../zones/system.ts";
import { requireZonepathDataset } from "../zones/zfs.ts";
import { importImageVolume, planImageVolume } from "./volumes.ts";
import { copyIntoZone, writeIntoZone } from "./zone_files.ts";

/** What the steps are planned from: the registry's answers and the live system's. */
interface VmZoneFacts {
  reg: Registry;
  vm: string;
  zone: string;
  cfg: VmZoneConfig;
  controlPool: Pool;
  guestPool?: Pool;
  stub: string;
  controlVnic: string;
  guestVnic: string;
  /** The guest VNIC exists already (the VMFile named one): used, never deleted. */
  guestVnicExists: boolean;
  guestLink: string;
  zonepath: string;
  live: LiveAddress[];
}

/** The create plan's Propolis steps for VM `config`. */
export async function propolisPrepareSteps(
  config: VmConfig,
  m: Making,
  ctx: BackendContext,
): Promise<PrepareSteps> {
  const f = await vmZoneFacts(config, ctx.runner);
  const planned = allocate(f, await loadAllZones(f.reg));
  // Chosen now so the plan shows the VNIC's MAC; the guest's network-config matches it.
  const x: Scratch = { mac: randomVnicMac() };
  return {
    network: [reserveStep(f, config, m, x, ctx, planned)],
    prepare: [
      ...diskSteps(f, config, m, x, ctx),
      ...linkSteps(f, ctx.runner, m, x.mac),
      configureStep(f, ctx.runner, x, planned),
      zoneStep(
        ctx.runner,
        "install the VM's zone",
        ["zoneadm", "-z", f.zone, "install"],
        "the installer's error is shown above; the VM was rolled back, so fix the cause and create it again",
        {
          timeoutMs: INSTALL_TIMEOUT_MS,
          undo: zoneUndo(ctx.runner, ["zoneadm", "-z", f.zone, "uninstall", "-F"], {
            zone: f.zone,
            states: ["installed", "incomplete"],
          }),
        },
      ),
      ...zoneFileSteps(f, config, m, planned),
      registryStep(
        f.reg,
        "finalise the VM zone's registry entry",
        entityPath(f.reg, "zones", f.zone),
        "status active",
        () =>
          atomicWrite(
            entityPath(f.reg, "zones", f.zone),
            writeZoneEntry(entryOf(m, x, "active")),
          ),
      ),
    ],
  };
}

async function vmZoneFacts(config: VmConfig, runner: Runner): Promise<VmZoneFacts> {
  const net = config.network;
  if (net.type !== "vnic" && net.type !== "none") {
    throw new Diagnostic(
      "vmctl::propolis::network",
      `Propolis VMs have no \`network "${net.type}"\``,
      {
        hint:
          'write `network "vnic" { pool "NAME" }` (a VNIC, its address from a zone pool) or `network "none"`',
      },
    );
  }
  const reg = registryAt();
  const zcfg = await loadConfig(reg);
  const cfg = zcfg.vm;
  if (!cfg.pool) {
    throw new Diagnostic(
      "vmctl::propolis::no_pool",
      "no pool for the VM zones' addresses: config.kdl has no `vm-pool`",
      {
        hint:
          `add \`vm-pool "NAME"\` to ${reg.configFile}, naming a pool of \`zmgr pool list\` (docs/propolis.md)`,
      },
    );
  }
  const zone = vmZoneName(config.name);
  const controlPool = await loadPool(reg, cfg.pool);
  const guestPool = net.type === "vnic" && net.pool ? await loadPool(reg, net.pool) : undefined;
  const stub = zoneStub([controlPool]);
  const guestVnic = (net.type === "vnic" && net.name) || guestVnicName(config.name);
  const registered = new Set(await listEntityNames(reg, "zones"));
  const [existing, live, named] = await allQueries<
    [string | undefined, LiveAddress[], boolean, void]
  >([
    zoneState(runner, zone),
    liveAddresses(runner, registered),
    net.type === "vnic" && net.name ? vnicExists(runner, guestVnic) : Promise.resolve(false),
    requireZonepathDataset(runner, zcfg.zonepathRoot),
  ]);
  if (existing !== undefined) {
    throw new Diagnostic(
      "vmctl::propolis::zone_exists",
      `zone ${zone} already exists on this system (${existing})`,
      { hint: `it is left from an earlier VM '${config.name}'; remove it (zoneadm/zonecfg) first` },
    );
  }
  return {
    reg,
    vm: config.name,
    zone,
    cfg,
    controlPool,
    guestPool,
    stub,
    controlVnic: vnicNameFor(zone, zcfg.vnicPattern),
    guestVnic,
    guestVnicExists: named,
    guestLink: (net.type === "vnic" && net.link) || guestPool?.stub || stub,
    zonepath: join(zcfg.zonepathRoot, zone),
    live,
  };
}

/** What the steps share besides the record: chosen when planned, or learnt as they run. */
interface Scratch {
  /** The guest VNIC's MAC. */
  mac: string;
  /** The zone's registry entry as reserved. */
  zoneEntry?: ZoneEntry;
  /** The image's size, once imported. */
  imageBytes?: number;
}

/** The addresses a reservation takes now: the zone's, then the guest's (from its pool). */
interface Allocation {
  control: string;
  controlGateway?: string;
  guest?: string;
  guestGateway?: string;
}

function allocate(f: VmZoneFacts, zones: ZoneEntry[]): Allocation {
  if (zones.some((z) => z.name === f.zone)) {
    throw new Diagnostic(
      "vmctl::propolis::zone_registered",
      `zone ${f.zone} is already in the registry`,
      {
        hint:
          `it is left from an earlier VM '${f.vm}': \`zmgr show ${f.zone}\`, then remove its file`,
      },
    );
  }
  const clash = zones.find((z) => z.vnic === f.controlVnic || z.guestVnic === f.guestVnic);
  if (clash) {
    throw new Diagnostic(
      "vmctl::propolis::vnic_in_use",
      `zone ${clash.name} already uses VNIC ${
        clash.vnic === f.controlVnic ? f.controlVnic : f.guestVnic
      }`,
      {
        hint: 'name the guest VNIC in the VMFile: `network "vnic" { name "..." }`',
      },
    );
  }
  const pools = [f.controlPool, ...(f.guestPool ? [f.guestPool] : [])];
  const used = [...usedAddresses(zones), ...f.live.map((l) => l.address)];
  const [control, guest] = allocateNets(pools, used);
  return {
    control: control.address,
    controlGateway: control.defrouter,
    guest: guest?.address,
    guestGateway: guest?.defrouter,
  };
}

/** The registry entry of the VM's zone, from the parts reserved for it. */
function entryOf(m: Making, x: Scratch, status: ZoneEntry["status"] = "creating"): ZoneEntry {
  return { ...x.zoneEntry!, status, guestVnic: m.rec.propolis!.guest_vnic };
}

/**
 * Reserve the zone's entry (and so its addresses) under the registry lock,
 * allocating again there: a concurrent create may have taken the planned
 * address. Records the parts in the VM's store record at once, so a create
 * killed later is cleaned up by `vmctl destroy`.
 */
function reserveStep(
  f: VmZoneFacts,
  config: VmConfig,
  m: Making,
  x: Scratch,
  ctx: BackendContext,
  planned: Allocation,
): Step {
  const path = entityPath(f.reg, "zones", f.zone);
  const guest = planned.guest
    ? `, guest address ${planned.guest} from pool ${f.guestPool!.name}`
    : "";
  return registryStep(
    f.reg,
    "reserve the VM zone's addresses",
    path,
    `reserve ${planned.control} from pool ${f.controlPool.name}${guest} (zone ${f.zone}, VNIC ${f.controlVnic}), status creating`,
    async () => {
      const zones = await loadAllZones(f.reg);
      for (const p of auditLedger(zones, [f.controlPool])) log.warn(p);
      const a = allocate(f, zones);
      x.zoneEntry = {
        name: f.zone,
        brand: f.cfg.brand,
        pool: f.controlPool.name,
        addresses: [a.control, ...(a.guest ? [a.guest] : [])],
        gateway: a.controlGateway,
        vnic: f.controlVnic,
        zonepath: f.zonepath,
        status: "creating",
        imported: false,
        created: new Date().toISOString(),
        vm: f.vm,
      };
      await atomicWrite(path, writeZoneEntry({ ...x.zoneEntry, guestVnic: f.guestVnic }));
      const mac = x.mac;
      m.rec = {
        ...m.rec,
        mac_addr: mac,
        propolis: {
          zone: f.zone,
          server: `${a.control.split("/")[0]}:${PROPOLIS_PORT}`,
          disk_dataset: diskVolume(f.cfg.zfsPool, f.vm),
          image_dataset: "",
          guest_vnic: f.guestVnic,
          guest_vnic_created: false,
          guest_address: a.guest ?? null,
          instance_uuid: crypto.randomUUID(),
          interface_uuid: crypto.randomUUID(),
        },
      };
      if (a.guest && f.guestPool) {
        m.networkConfig = guestNetworkConfig({
          address: a.guest,
          gateway: a.guestGateway,
          dns: f.guestPool.dns.map(formatIp),
          domain: f.guestPool.domain,
          mac,
        });
      }
      await saveRecord(ctx, m.rec);
      if (config.cloudInit?.networkConfigPath && a.guest) {
        log.warn(
          `VM '${f.vm}': the VMFile's network-config is used as given; make it set ${a.guest}, the address reserved for the guest`,
        );
      }
    },
    registryRemoveUndo(f.reg, path, "remove the reservation"),
  );
}

/** Keep the record's parts in the store as soon as they exist. */
async function saveRecord(ctx: BackendContext, rec: VmRecord): Promise<void> {
  await updateStore(ctx.paths, (doc) => {
    if (doc.vms[rec.name]?.id === rec.id) doc.vms[rec.name] = rec;
  });
}

/** The image volume (shared, kept), the disk clone, its size. */
function diskSteps(
  f: VmZoneFacts,
  config: VmConfig,
  m: Making,
  x: Scratch,
  ctx: BackendContext,
): Step[] {
  const disk = diskVolume(f.cfg.zfsPool, f.vm);
  const image = planImageVolume(f.cfg.zfsPool);
  const runner = ctx.runner;
  const setParts = (p: Partial<PropolisParts>) =>
    m.rec = { ...m.rec, propolis: { ...m.rec.propolis!, ...p } };
  const steps: Step[] = [
    taskStep(
      "import the image into a ZFS volume (once per image; kept for the next VM)",
      image.detail,
      async (interrupted) => {
        const vol = await importImageVolume(
          runner,
          ctx.paths,
          f.cfg.zfsPool,
          m.imagePath!,
          interrupted,
        );
        setParts({ image_dataset: vol.dataset });
        x.imageBytes = vol.bytes;
      },
    ),
    zoneStep(runner, "create the parent of the VM disks", [
      "zfs",
      "create",
      "-p",
      disksParent(f.cfg.zfsPool),
    ], "check the ZFS pool (zpool status)"),
    {
      ...zoneStep(
        runner,
        "clone the VM's disk from the image",
        ["zfs", "clone", baseSnapshot(image.dataset), disk],
        "check the ZFS pool (zpool status) and that the image volume has its @base snapshot",
        { undo: zoneUndo(runner, ["zfs", "destroy", disk]) },
      ),
      run: () =>
        runner.run(["zfs", "clone", baseSnapshot(m.rec.propolis!.image_dataset), disk], {
          errorCode: "zmgr::exec::failed",
          hint:
            "check the ZFS pool (zpool status) and that the image volume has its @base snapshot",
        }),
    },
  ];
  if (config.diskGb) {
    const bytes = config.diskGb * 1024 ** 3;
    const grow = zoneStep(
      runner,
      `grow the VM's disk to ${config.diskGb} GB`,
      ["zfs", "set", `volsize=${bytes}`, disk],
      "check the pool's free space (zfs list)",
    );
    steps.push({
      ...grow,
      run: (interrupted) => {
        if (x.imageBytes !== undefined && bytes < x.imageBytes) {
          throw new Diagnostic(
            "vmctl::propolis::disk_too_small",
            `disk ${config.diskGb} GB is smaller than the image (${x.imageBytes} bytes)`,
            { hint: "leave `disk` out (the image's size) or give at least the image's size" },
          );
        }
        return grow.run(interrupted);
      },
    });
  }
  return steps;
}

/** The guest's VNIC (unless it exists), then the zone's own. */
function linkSteps(f: VmZoneFacts, runner: Runner, m: Making, mac: string): Step[] {
  const steps: Step[] = [];
  if (!f.guestVnicExists) {
    const s = zoneStep(
      runner,
      "create the guest's VNIC",
      ["dladm", "create-vnic", "-l", f.guestLink, "-m", mac, f.guestVnic],
      `check that link ${f.guestLink} exists (dladm show-link) and that ${f.guestVnic} is free`,
      { undo: zoneUndo(runner, ["dladm", "delete-vnic", f.guestVnic]) },
    );
    steps.push({
      ...s,
      run: async (interrupted) => {
        await s.run(interrupted);
        m.rec = { ...m.rec, propolis: { ...m.rec.propolis!, guest_vnic_created: true } };
      },
    });
  }
  steps.push(zoneStep(
    runner,
    "create the zone's VNIC",
    ["dladm", "create-vnic", "-l", f.stub, f.controlVnic],
    `check that link ${f.stub} exists (dladm show-link) and that ${f.controlVnic} is free`,
    { undo: zoneUndo(runner, ["dladm", "delete-vnic", f.controlVnic]) },
  ));
  return steps;
}

/** The zone's configuration: its address, the guest's link, bhyve's devices, propolis mounted. */
function zonecfgScript(f: VmZoneFacts, address: string, gateway?: string): string {
  return buildZonecfgScript({
    brand: f.cfg.brand,
    zonepath: f.zonepath,
    autoboot: false,
    vnic: f.controlVnic,
    nets: [{ allowedAddress: address, defrouter: gateway }],
    bareLinks: [f.guestVnic],
    devices: vmZoneDevices(diskVolume(f.cfg.zfsPool, f.vm)),
    lofs: vmZoneMounts(f.cfg.server, f.cfg.bootrom),
    limitpriv: "default,proc_clock_highres,sys_dl_config",
  });
}

/** zonecfg with the address reserved when the step runs (planned: the one free now). */
function configureStep(f: VmZoneFacts, runner: Runner, x: Scratch, planned: Allocation): Step {
  const plannedScript = zonecfgScript(f, planned.control, planned.controlGateway);
  const argv = ["zonecfg", "-z", f.zone, "-f", "-"];
  const s = zoneStep(
    runner,
    "configure the VM's zone",
    argv,
    "the zonecfg script is shown with --dry-run",
    {
      stdin: plannedScript,
      undo: zoneUndo(runner, ["zonecfg", "-z", f.zone, "delete", "-F"], {
        zone: f.zone,
        states: ["configured", "incomplete"],
      }),
    },
  );
  return {
    ...s,
    run: () =>
      runner.run(argv, {
        stdin: zonecfgScript(f, x.zoneEntry!.addresses[0], x.zoneEntry!.gateway),
        errorCode: "zmgr::exec::failed",
        hint: "the zonecfg script is shown with --dry-run",
      }),
  };
}

/** The seed and the SMF manifest, written into the installed zone's root. */
function zoneFileSteps(
  f: VmZoneFacts,
  config: VmConfig,
  m: Making,
  planned: Allocation,
): Step[] {
  const root = join(zoneAltroot(), f.zonepath, "root");
  const manifest = (listen: string) =>
    serverManifest(serverArgv(f.cfg.server, f.cfg.bootrom, listen));
  const plannedManifest = manifest(`${planned.control.split("/")[0]}:${PROPOLIS_PORT}`);
  const steps: Step[] = [];
  if (config.cloudInit) {
    steps.push(taskStep(
      "copy the cloud-init seed into the zone",
      `${join(root, SEED_IN_ZONE)} (mode 0600; propolis attaches it read-only)`,
      async () => {
        if (m.rec.seed_iso_path) await copyIntoZone(m.rec.seed_iso_path, join(root, SEED_IN_ZONE));
      },
    ));
  }
  const path = join(root, MANIFEST_IN_ZONE);
  steps.push({
    title: "write the propolis-server service into the zone",
    action: { kind: "write", path, mode: 0o644, text: plannedManifest },
    run: () => writeIntoZone(path, manifest(m.rec.propolis!.server)),
  });
  return steps;
}
