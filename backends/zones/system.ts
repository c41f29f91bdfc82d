/**
 * The illumos commands zmgr runs, as argv builders and read-only queries.
 * Everything goes through the runner from backends/exec.ts (found on PATH,
 * recorded for --dry-run, a missing tool becomes one diagnostic naming it).
 *
 * @module
 */
import type { ExecOptions, ExecResult, Runner } from "../exec.ts";
import {
  parseZoneadmList,
  parseZonecfgInfo,
  type ZonecfgInfo,
  type ZoneListEntry,
} from "../../lib/zones/zonecfg.ts";

/** install can take many minutes (it downloads packages). */
export const INSTALL_TIMEOUT_MS = 60 * 60_000;
const QUERY: ExecOptions = { readOnly: true, check: false, timeoutMs: 60_000 };

/** `zoneadm list -cp`, parsed: every configured zone (global included). */
export async function listSystemZones(runner: Runner): Promise<ZoneListEntry[]> {
  const r = await runner.run(["zoneadm", "list", "-cp"], {
    readOnly: true,
    errorCode: "zmgr::exec::failed",
    hint: "zoneadm could not list the zones; run it by hand to see why",
  });
  return parseZoneadmList(r.stdout);
}

/** The state of one zone (`configured`, `installed`, `running`, ...), or undefined if unknown to the system. */
export async function zoneState(runner: Runner, name: string): Promise<string | undefined> {
  const r = await runner.run(["zoneadm", "-z", name, "list", "-p"], QUERY);
  if (r.code !== 0) return undefined;
  return parseZoneadmList(r.stdout)[0]?.state;
}

/** `zonecfg -z NAME info`, parsed. */
export async function zonecfgInfo(runner: Runner, name: string): Promise<ZonecfgInfo> {
  const r = await runner.run(["zonecfg", "-z", name, "info"], {
    readOnly: true,
    errorCode: "zmgr::exec::failed",
    hint: `zonecfg could not read zone ${name}'s configuration`,
  });
  return parseZonecfgInfo(r.stdout);
}

/** True when VNIC `name` exists. */
export async function vnicExists(runner: Runner, name: string): Promise<boolean> {
  const r = await runner.run(["dladm", "show-vnic", "-p", "-o", "LINK", name], QUERY);
  return r.code === 0 && r.stdout.split("\n").some((l) => l.trim() === name);
}

/** Run a mutating command; failures carry `zmgr::exec::failed`, the stderr and `hint`. */
export function step(
  runner: Runner,
  argv: string[],
  hint: string,
  opts: ExecOptions = {},
): Promise<ExecResult> {
  return runner.run(argv, { errorCode: "zmgr::exec::failed", hint, ...opts });
}
