/**
 * The ZFS side of zones: the ipkg-family installers need the zonepath's parent
 * to be a ZFS dataset (zoneadm install creates the zone's own dataset below
 * it, and the brand installer looks the zonepath up in `zfs list`), so create
 * checks it, `init --create-dataset` makes it, and destroy removes a zone
 * dataset that outlived its zone.
 *
 * @module
 */
import { Diagnostic, toDiagnostics } from "../../lib/diagnostics.ts";
import { basename, dirname } from "../../lib/posix_path.ts";
import { validateDatasetName } from "../../lib/zones/names.ts";
import type { ZoneEntry } from "../../lib/zones/schema.ts";
import type { Runner } from "../exec.ts";
import type { Step } from "../../lib/plan.ts";
import { zoneStep } from "./system.ts";

/**
 * Mountpoint -> file system, from the query the brand installers use
 * themselves (`zfs list -H -o name,mountpoint -t filesystem`). Any failure is
 * `zmgr::system::query_failed`: only this answer says whether a dataset exists.
 */
async function mountedFilesystems(runner: Runner): Promise<Map<string, string>> {
  const r = await runner.run(["zfs", "list", "-H", "-o", "name,mountpoint", "-t", "filesystem"], {
    errorCode: "zmgr::system::query_failed",
    hint: "nothing was changed; run `zfs list` by hand to see why it fails, fix that, and retry",
  });
  const mounted = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const [name, mountpoint] = line.split("\t");
    if (name && mountpoint?.startsWith("/")) mounted.set(mountpoint, name);
  }
  return mounted;
}

/** The ZFS file system mounted at `path`, or undefined when none is. */
export async function datasetMountedAt(runner: Runner, path: string): Promise<string | undefined> {
  return (await mountedFilesystems(runner)).get(path);
}

/** Refuse (before anything is reserved) when the zonepath root is not a ZFS dataset. */
export async function requireZonepathDataset(runner: Runner, zonepathRoot: string): Promise<void> {
  if (await datasetMountedAt(runner, zonepathRoot)) return;
  throw new Diagnostic(
    "zmgr::zfs::no_dataset",
    `the zonepath root ${zonepathRoot} is not a ZFS dataset; the zone installer needs one`,
    {
      hint:
        `create it with \`zmgr init --create-dataset POOL/zones\` (\`vmctl zone init --create-dataset POOL/zones\`; it runs zfs create -o mountpoint=${zonepathRoot} POOL/zones), or set zonepath-root in config.kdl to a dataset's mountpoint`,
    },
  );
}

/** What init found about the zonepath root's dataset, and the step that creates one. */
export interface ZonepathDataset {
  /** The dataset mounted at the root, or the one the plan creates. */
  dataset?: string;
  /** `zfs create -o mountpoint=ROOT DATASET`, when asked for and none is mounted there. */
  create?: Step;
  /** Why zfs could not answer (no zfs on this host, ...), when it could not. */
  unknown?: string;
}

/**
 * The zonepath root's dataset, or the step creating it (`zfs create -o
 * mountpoint=ROOT DATASET`) when `create` names one and none is mounted there,
 * so a second init changes nothing. Without `create`, a host whose zfs cannot
 * answer is only reported: init writes files, and create refuses later.
 */
export async function zonepathDataset(
  runner: Runner,
  root: string,
  create?: string,
): Promise<ZonepathDataset> {
  let found: string | undefined;
  try {
    found = await datasetMountedAt(runner, root);
  } catch (err) {
    if (create) throw err;
    return { unknown: toDiagnostics(err)[0].message };
  }
  if (found || !create) return { dataset: found };
  const dataset = validateDatasetName(create);
  return {
    dataset,
    create: zoneStep(
      runner,
      `create ZFS dataset ${dataset}`,
      ["zfs", "create", "-o", `mountpoint=${root}`, dataset],
      `check that the pool of ${dataset} exists (zpool list) and that ${dataset} is free (zfs list)`,
    ),
  };
}

/** A dataset still mounted at a zone's zonepath once the zone is gone. */
export interface LeftoverDataset {
  name: string;
  /** True when zmgr's create made it: the name zoneadm install gives it, in a zone zmgr created. */
  ours: boolean;
}

/**
 * The dataset left at `entry`'s zonepath (uninstall normally removes it; an
 * interrupted uninstall does not). It is zmgr's to remove only when zoneadm
 * install made it for zmgr's create: named `<zonepath root's dataset>/<zone>`
 * in a zone that was not imported. Anything else mounted there stays.
 */
export async function leftoverZoneDataset(
  runner: Runner,
  entry: ZoneEntry,
): Promise<LeftoverDataset | undefined> {
  const mounted = await mountedFilesystems(runner);
  const name = mounted.get(entry.zonepath);
  if (!name) return undefined;
  const parent = mounted.get(dirname(entry.zonepath));
  const ours = !entry.imported && parent !== undefined &&
    name === `${parent}/${basename(entry.zonepath)}`;
  return { name, ours };
}
