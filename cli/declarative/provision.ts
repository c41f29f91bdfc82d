/**
 * `vmctl provision [--file] [--name] [--timeout S]`: re-run the provisioners
 * of running VMs. The VM must exist, run, and have an `ssh` block.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { opsContext } from "../common.ts";
import {
  liveRecord,
  loadTargets,
  provisionStage,
  requireSshBlock,
  sshBudget,
  type TargetOptions,
} from "./common.ts";

/** The action of `vmctl provision`. */
export async function provisionCommand(o: TargetOptions & { timeout?: string }): Promise<void> {
  const timeoutMs = sshBudget(o.timeout);
  const { file, defs } = await loadTargets(o);
  const ctx = opsContext();
  for (const def of defs) {
    if (def.provision.length === 0) {
      ctx.say(`${def.name}: no provisioners: skipped`);
      continue;
    }
    const rec = await liveRecord(ctx, def.name);
    if (!rec) {
      throw new Diagnostic("vmctl::vm::not_found", `VM '${def.name}' has not been created`, {
        hint: "bring it up first with `vmctl up`",
      });
    }
    if (rec.state !== "running") {
      throw new Diagnostic(
        "vmctl::vm::invalid_state",
        `cannot provision VM '${def.name}': it is ${rec.state}`,
        { hint: "provisioners need a running VM; `vmctl up` starts it (and provisions)" },
      );
    }
    requireSshBlock(def);
    if (rec.backend === "noop") {
      throw new Diagnostic(
        "vmctl::noop::no_guest",
        `the noop backend runs no guest, so the ${def.provision.length} provisioning step(s) of VM '${def.name}' cannot run`,
        { hint: "use the qemu backend (VMCTL_BACKEND=qemu, the default on Linux) for a real VM" },
      );
    }
    ctx.say(`==> ${def.name}`);
    await provisionStage(ctx, rec, def, file, {
      skip: false,
      timeoutMs,
      prefixOutput: defs.length > 1,
    });
  }
}
