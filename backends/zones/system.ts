/**
 * The illumos commands zmgr runs, as argv builders and read-only queries.
 * Everything goes through the runner from backends/exec.ts (found on PATH,
 * recorded for --dry-run, a missing tool becomes one diagnostic naming it).
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { type ExecOptions, type ExecResult, formatArgv, type Runner } from "../exec.ts";
import { type ApplyOptions, failureMessage, runStep, runUndo } from "../apply.ts";
import type { Step, Undo } from "../../lib/plan.ts";
import { parseIp } from "../../lib/ipam.ts";
import type { LiveAddress } from "../../lib/zones/ledger.ts";
import {
  netAddresses,
  parseZoneadmList,
  parseZonecfgInfo,
  type ZonecfgInfo,
  type ZoneListEntry,
} from "../../lib/zones/zonecfg.ts";

/** install can take many minutes (it downloads packages). */
export const INSTALL_TIMEOUT_MS = 60 * 60_000;
const QUERY: ExecOptions = { check: false, timeoutMs: 60_000 };

/** zoneadm's own answer for a zone the system does not have (facts §1.1, §2.2). */
const NO_SUCH_ZONE = /^zoneadm: [^\n]*: No such zone configured$/m;
/** zonecfg's answer for a zone the system does not have (facts §3.3). */
const NO_SUCH_ZONECFG = /: No such zone configured$/m;
/** dladm's answer for a VNIC that does not exist (facts §4). */
const NO_SUCH_VNIC = /: object not found$/m;

/**
 * Run a read-only query whose only acceptable failure is the system's own
 * "does not exist" answer (`absent`). Any other failure (a permission error,
 * a wrong tool, a timeout) says nothing about existence, so it stops the
 * command before it changes anything.
 */
async function query(
  runner: Runner,
  argv: string[],
  absent: RegExp,
): Promise<ExecResult | undefined> {
  const r = await runner.run(argv, QUERY);
  if (r.code === 0) return r;
  if (r.code === 1 && absent.test(r.stderr)) return undefined;
  throw new Diagnostic(
    "zmgr::system::query_failed",
    `\`${formatArgv(argv)}\` failed (exit ${r.code}) without saying whether the object exists`,
    {
      details: r.stderr.trim().split("\n").filter((l) => l !== "").slice(-10),
      hint: "nothing was changed; run the command by hand to see why it fails, fix that, and retry",
    },
  );
}

/**
 * Run queries side by side and wait for every one, then throw the first
 * failure: a command that stops on a failed query leaves no other query
 * still running behind it.
 */
export async function allQueries<T extends readonly unknown[]>(
  queries: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const settled = await Promise.allSettled(queries);
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** `zoneadm list -cp`, parsed: every configured zone (global included). */
export async function listSystemZones(runner: Runner): Promise<ZoneListEntry[]> {
  const r = await runner.run(["zoneadm", "list", "-cp"], {
    errorCode: "zmgr::exec::failed",
    hint: "zoneadm could not list the zones; run it by hand to see why",
  });
  return parseZoneadmList(r.stdout);
}

/** The state of one zone (`configured`, `installed`, `running`, ...), or undefined if unknown to the system. */
export async function zoneState(runner: Runner, name: string): Promise<string | undefined> {
  const r = await query(runner, ["zoneadm", "-z", name, "list", "-p"], NO_SUCH_ZONE);
  return r && parseZoneadmList(r.stdout)[0]?.state;
}

/** `zonecfg -z NAME info`, parsed. */
export async function zonecfgInfo(runner: Runner, name: string): Promise<ZonecfgInfo> {
  const r = await runner.run(["zonecfg", "-z", name, "info"], {
    errorCode: "zmgr::exec::failed",
    hint: `zonecfg could not read zone ${name}'s configuration`,
  });
  return parseZonecfgInfo(r.stdout);
}

/**
 * The addresses the live system's zones hold: `zoneadm list -cp`, then the
 * nets (`zonecfg -z NAME info`) of each zone not in `skip`. A create skips the
 * registered zones, whose addresses the ledger holds already: one zonecfg per
 * unregistered zone, not per zone, keeps a create on a host with many zones
 * quick. A zone deleted between the two queries holds nothing.
 */
export async function liveAddresses(
  runner: Runner,
  skip: ReadonlySet<string> = new Set(),
): Promise<LiveAddress[]> {
  const out: LiveAddress[] = [];
  for (const z of await listSystemZones(runner)) {
    if (z.name === "global" || skip.has(z.name)) continue;
    const r = await query(runner, ["zonecfg", "-z", z.name, "info"], NO_SUCH_ZONECFG);
    if (!r) continue;
    for (const text of netAddresses(parseZonecfgInfo(r.stdout))) {
      const ip = parseIp(text.split("/")[0]);
      if (ip) out.push({ zone: z.name, address: ip });
    }
  }
  return out;
}

/** True when VNIC `name` exists. */
export async function vnicExists(runner: Runner, name: string): Promise<boolean> {
  const r = await query(runner, ["dladm", "show-vnic", "-p", "-o", "LINK", name], NO_SUCH_VNIC);
  return r !== undefined && r.stdout.split("\n").some((l) => l.trim() === name);
}

/** A step running a mutating command; failures carry `zmgr::exec::failed`, the stderr and `hint`. */
export function zoneStep(
  runner: Runner,
  title: string,
  argv: string[],
  hint: string,
  opts: ExecOptions & { undo?: Undo } = {},
): Step {
  return runStep(runner, title, argv, { errorCode: "zmgr::exec::failed", hint, ...opts });
}

/**
 * The undo running `argv`. With `zone` and `states`, it runs only while the
 * zone is in one of them (its step may have done nothing, or half), and is
 * also armed when its step fails: zonecfg reading a script commits what it
 * could and exits 1, an installer leaves an incomplete zone.
 */
export function zoneUndo(
  runner: Runner,
  argv: string[],
  only?: { zone: string; states: string[] },
): Undo {
  const when = only &&
    (async () => only.states.includes(await zoneState(runner, only.zone) ?? "absent"));
  return runUndo(runner, argv, {
    errorCode: "zmgr::exec::failed",
    timeoutMs: INSTALL_TIMEOUT_MS,
    afterFailure: only !== undefined,
    when,
  });
}

/**
 * Apply options of the zone commands whose steps are not undone (destroy,
 * boot, registry edits): a failure is reported by its own diagnostic, the
 * finished steps stay done and a retry skips them.
 */
export const AS_IS: ApplyOptions = {
  message: (f) => f.interrupted ? failureMessage(f) : f.cause.message,
};
