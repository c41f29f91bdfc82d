/**
 * `vmctl up [--file] [--name] [--no-provision] [--timeout S] [--dry-run]`:
 * converge each VM of the VMFile, in file order, to running.
 *
 *   absent                     -> create, start, provision
 *   prepared, stopped, failed  -> start, provision
 *   suspended                  -> resume (not re-provisioned: the guest kept its state)
 *   running                    -> skip
 *
 * A VM created from an older definition (or by something else) is reported,
 * not silently reused. The first failure stops the run.
 *
 * @module
 */
import type { VmRecord } from "../../lib/types.ts";
import type { VmDef, VmFile } from "../../lib/vmfile/types.ts";
import { formatDuration, type OpsContext, opsContext, timed } from "../common.ts";
import { planCreate } from "../vm/create_flow.ts";
import { transition } from "../vm/transitions.ts";
import { log } from "../../lib/log.ts";
import {
  createAndStart,
  liveRecord,
  loadTargets,
  mismatch,
  type ProvisionStage,
  provisionStage,
  requestFromDef,
  requireSshBlock,
  sshBudget,
  type TargetOptions,
} from "./common.ts";

export interface UpOptions extends TargetOptions {
  provision: boolean;
  timeout?: string;
  dryRun?: boolean;
}

/** The action of `vmctl up`. */
export async function upCommand(o: UpOptions): Promise<void> {
  const stageTimeout = sshBudget(o.timeout);
  const { file, defs } = await loadTargets(o);
  const ctx = opsContext({ dryRun: o.dryRun });
  const stage: ProvisionStage = {
    skip: !o.provision,
    timeoutMs: stageTimeout,
    prefixOutput: defs.length > 1,
  };
  // Provisioners connect over SSH: refuse a definition without an ssh block before booting anything.
  if (o.provision) { for (const def of defs) if (def.provision.length) requireSshBlock(def); }
  for (const def of defs) {
    const rec = await liveRecord(ctx, def.name);
    const note = rec ? await mismatch(rec, def, file) : undefined;
    if (note) log.warn(`VM '${def.name}': ${note}`);
    if (ctx.dryRun) {
      for (const line of await planUp(ctx, def, file, rec, stage)) ctx.say(line);
      continue;
    }
    ctx.say(`==> ${def.name}`);
    await upOne(ctx, def, file, rec, stage);
  }
  if (ctx.dryRun) ctx.say("dry run: nothing was changed");
}

async function upOne(
  ctx: OpsContext,
  def: VmDef,
  file: VmFile,
  rec: VmRecord | undefined,
  stage: ProvisionStage,
): Promise<void> {
  if (!rec) {
    await createAndStart(ctx, def, file, stage);
    return;
  }
  switch (rec.state) {
    case "running":
      ctx.say("    already running: skipped (`vmctl provision` re-runs its provisioners)");
      return;
    case "suspended": {
      const [, ms] = await timed(() => transition(ctx, def.name, "resume"));
      ctx.say(`    resumed in ${formatDuration(ms)} (not re-provisioned: it kept running state)`);
      return;
    }
    default: {
      const [running, ms] = await timed(() => transition(ctx, def.name, "start"));
      ctx.say(`    started (was ${rec.state}) in ${formatDuration(ms)}`);
      await provisionStage(ctx, running, def, file, stage);
    }
  }
}

/** What `up` would do for one VM. */
async function planUp(
  ctx: OpsContext,
  def: VmDef,
  file: VmFile,
  rec: VmRecord | undefined,
  stage: ProvisionStage,
): Promise<string[]> {
  const steps = def.provision.length;
  const prov = steps === 0
    ? "no provisioners"
    : stage.skip
    ? `${steps} provisioning step(s) skipped (--no-provision)`
    : `would run ${steps} provisioning step(s)`;
  if (!rec) {
    return [
      `${def.name}: absent -> create, start, provision`,
      ...(await planCreate(ctx, await requestFromDef(def, file))).map((l) => `  ${l}`),
      `  would start it; ${prov}`,
    ];
  }
  switch (rec.state) {
    case "running":
      return [`${def.name}: running -> skip (already running)`];
    case "suspended":
      return [`${def.name}: suspended -> would resume it (not re-provisioned)`];
    default:
      return [`${def.name}: ${rec.state} -> would start it; ${prov}`];
  }
}
