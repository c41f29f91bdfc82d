/**
 * Where a Propolis VM's parts live on the illumos host, by name, in one
 * place: its zone, its ZFS volumes and their devices, the files vmctl puts
 * into the zone, and the command the zone's SMF service runs. Pure.
 *
 *   <pool>/vmctl/images/<sha256>   the image as a raw volume, with @base
 *   <pool>/vmctl/vms/<vm>          the VM's disk: a clone of @base
 *   zone vmctl-<vm>                runs the VM's own propolis-server on
 *                                  <its address>:12400
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";
import { basename, dirname } from "../posix_path.ts";
import { vnicNameFor } from "../zones/names.ts";

/** Zone names start with this; the rest is the VM's name. */
const ZONE_PREFIX = "vmctl-";
/** illumos zone names are at most 63 characters (illumos-facts.md §3.2). */
const ZONE_NAME_MAX = 63;

/** The zone that runs VM `vm`'s propolis-server. */
export function vmZoneName(vm: string): string {
  const zone = `${ZONE_PREFIX}${vm}`;
  if (zone.length > ZONE_NAME_MAX || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(zone)) {
    throw new Diagnostic(
      "vmctl::propolis::name_too_long",
      `VM name '${vm}' makes zone name '${zone}', longer than illumos allows (${ZONE_NAME_MAX})`,
      { hint: `Propolis VM names are at most ${ZONE_NAME_MAX - ZONE_PREFIX.length} characters` },
    );
  }
  return zone;
}

/** The guest's VNIC when the VMFile names none: valid for any dladm (see vnicNameFor). */
export function guestVnicName(vm: string): string {
  return vnicNameFor(vm, "{name}_g0");
}

/** The raw volume holding image `sha256` (imported once, never written after @base). */
export function imageVolume(zfsPool: string, sha256: string): string {
  return `${zfsPool}/vmctl/images/${sha256}`;
}

/** The snapshot every disk of an image is cloned from. */
export function baseSnapshot(volume: string): string {
  return `${volume}@base`;
}

/** The parent of the VMs' disks. */
export function disksParent(zfsPool: string): string {
  return `${zfsPool}/vmctl/vms`;
}

/** VM `vm`'s disk. */
export function diskVolume(zfsPool: string, vm: string): string {
  return `${disksParent(zfsPool)}/${vm}`;
}

/** The raw device of volume `ds`: the same path in the global zone and in a VM zone. */
export function zvolDevice(ds: string): string {
  return `/dev/zvol/rdsk/${ds}`;
}

/** Inside the VM zone: the cloud-init seed propolis attaches as a read-only disk. */
export const SEED_IN_ZONE = "/var/vmctl/seed.iso";
/** Inside the VM zone: the SMF manifest that runs propolis-server (imported at boot). */
export const MANIFEST_IN_ZONE = "/var/svc/manifest/site/vmctl-propolis.xml";
/** Inside the VM zone: where the host's propolis-server and bootrom directories are mounted (ro). */
export const SERVER_DIR_IN_ZONE = "/opt/vmctl/propolis";
export const BOOTROM_DIR_IN_ZONE = "/opt/vmctl/bootrom";

/** The devices a VM zone needs: bhyve's, viona's, and its own disk. */
export function vmZoneDevices(disk: string): string[] {
  return ["/dev/vmmctl", "/dev/vmm/*", "/dev/viona", zvolDevice(disk)];
}

/** The host paths the VM zone mounts read-only, and where. */
export function vmZoneMounts(server: string, bootrom: string): { dir: string; special: string }[] {
  return [
    { dir: SERVER_DIR_IN_ZONE, special: dirname(server) },
    { dir: BOOTROM_DIR_IN_ZONE, special: dirname(bootrom) },
  ];
}

/** propolis-server's command line inside the zone (illumos-facts.md §7.7). */
export function serverArgv(server: string, bootrom: string, listen: string): string[] {
  return [
    `${SERVER_DIR_IN_ZONE}/${basename(server)}`,
    "run",
    `${BOOTROM_DIR_IN_ZONE}/${basename(bootrom)}`,
    listen,
  ];
}

/**
 * The SMF manifest of the VM zone's one service: propolis-server in the
 * foreground (`duration=child`), restarted by SMF if it dies. Every word of
 * the command is a plain token (paths and an address), so the method line
 * needs no quoting.
 */
export function serverManifest(argv: string[]): string {
  for (const word of argv) {
    if (!/^[A-Za-z0-9_.\/:@+-]+$/.test(word)) {
      throw new Diagnostic(
        "vmctl::propolis::unsafe_path",
        `${JSON.stringify(word)} cannot be part of the propolis-server service's command`,
        { hint: "use paths of letters, digits, '_', '.', '-' and '/'" },
      );
    }
  }
  return `<?xml version="1.0"?>
<!DOCTYPE service_bundle SYSTEM "/usr/share/lib/xml/dtd/service_bundle.dtd.1">
<!-- Written by vmctl: this zone runs one VM's propolis-server. -->
<service_bundle type='manifest' name='vmctl-propolis'>
  <service name='site/vmctl/propolis-server' type='service' version='1'>
    <create_default_instance enabled='true'/>
    <single_instance/>
    <dependency name='network' grouping='require_all' restart_on='none' type='service'>
      <service_fmri value='svc:/milestone/network:default'/>
    </dependency>
    <exec_method type='method' name='start' exec='${argv.join(" ")}' timeout_seconds='60'/>
    <exec_method type='method' name='stop' exec=':kill' timeout_seconds='60'/>
    <property_group name='startd' type='framework'>
      <propval name='duration' type='astring' value='child'/>
    </property_group>
  </service>
</service_bundle>
`;
}
