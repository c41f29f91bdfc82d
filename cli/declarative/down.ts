/**
 * `vmctl down [--file] [--name] [--destroy] [--timeout S] [--dry-run]`: stop
 * (or destroy) the VMs of the VMFile. Only VMs this VMFile created are
 * destroyed; a same-named VM from elsewhere is refused with a diagnostic.
 *
 * @module
 */
import { STOP_TIMEOUT_MS } from "../../lib/defaults.ts";
import { opsContext, timeoutOption } from "../common.ts";
import { destroyVm, transition } from "../vm/transitions.ts";
import { liveRecord, loadTargets, refuseForeign, type TargetOptions } from "./common.ts";

export interface DownOptions extends TargetOptions {
  destroy?: boolean;
  /** Take over a VM created from another VMFile path (a moved project). */
  adopt?: boolean;
  timeout?: string;
  dryRun?: boolean;
}

/** The action of `vmctl down`. */
export async function downCommand(o: DownOptions): Promise<void> {
  const timeoutMs = timeoutOption(o.timeout) ?? STOP_TIMEOUT_MS;
  const { file, defs } = await loadTargets(o);
  const ctx = opsContext({ dryRun: o.dryRun });
  const would = ctx.dryRun ? "would be " : "";
  for (const def of defs) {
    const rec = await liveRecord(ctx, def.name);
    if (!rec) {
      ctx.say(`${def.name}: not created: skipped`);
      continue;
    }
    if (o.destroy) {
      refuseForeign(rec, file, "vmctl down --destroy", o.adopt);
      if (!ctx.dryRun) await destroyVm(ctx, def.name, { timeoutMs });
      ctx.say(`${def.name}: ${would}destroyed (was ${rec.state})`);
      continue;
    }
    if (rec.state !== "running" && rec.state !== "suspended") {
      ctx.say(`${def.name}: already ${rec.state}: skipped`);
      continue;
    }
    if (!ctx.dryRun) await transition(ctx, def.name, "stop", { timeoutMs });
    ctx.say(`${def.name}: ${would}stopped`);
  }
  if (ctx.dryRun) ctx.say("dry run: nothing was changed");
}
