/**
 * `vmctl reload [--file] [--name] [--no-provision] [--timeout S] [--dry-run]`:
 * destroy each VM (if it exists) and create, start and provision it afresh
 * from the current definition, with a new cloud-init instance-id.
 *
 * @module
 */
import { opsContext } from "../common.ts";
import { planCreate } from "../vm/create_flow.ts";
import { destroyVm } from "../vm/transitions.ts";
import {
  createAndStart,
  liveRecord,
  loadTargets,
  refuseForeign,
  requestFromDef,
  requireSshBlock,
  sshBudget,
  type TargetOptions,
} from "./common.ts";

export interface ReloadOptions extends TargetOptions {
  provision: boolean;
  /** Take over a VM created from another VMFile path (a moved project). */
  adopt?: boolean;
  timeout?: string;
  dryRun?: boolean;
}

/** The action of `vmctl reload`. */
export async function reloadCommand(o: ReloadOptions): Promise<void> {
  const timeoutMs = sshBudget(o.timeout);
  const { file, defs } = await loadTargets(o);
  const ctx = opsContext({ dryRun: o.dryRun });
  const stage = { skip: !o.provision, timeoutMs, prefixOutput: defs.length > 1 };
  // Provisioners connect over SSH: refuse a definition without an ssh block before booting anything.
  if (o.provision) { for (const def of defs) if (def.provision.length) requireSshBlock(def); }
  for (const def of defs) {
    const rec = await liveRecord(ctx, def.name);
    if (rec) refuseForeign(rec, file, "vmctl reload", o.adopt);
    if (ctx.dryRun) {
      if (rec) ctx.say(`${def.name}: would destroy it (${rec.state}), then recreate it:`);
      else ctx.say(`${def.name}: absent, would create it:`);
      const req = await requestFromDef(def, file);
      const plan = await planCreate(ctx, req, { replacing: true });
      for (const line of plan) ctx.say(`  ${line}`);
      ctx.say(`  would start it; ${def.provision.length} provisioning step(s)`);
      continue;
    }
    ctx.say(`==> ${def.name}`);
    if (rec) {
      await destroyVm(ctx, def.name, {});
      ctx.say(`    destroyed (was ${rec.state})`);
    }
    await createAndStart(ctx, def, file, stage);
  }
  if (ctx.dryRun) ctx.say("dry run: nothing was changed");
}
