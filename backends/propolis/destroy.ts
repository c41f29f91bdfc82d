/**
 * Removing a Propolis VM's parts: the instance is stopped (its console kept),
 * then the zone goes the way every registered zone goes (halt, uninstall,
 * delete its configuration and VNIC, remove its registry entry, which frees
 * its addresses), then the guest VNIC vmctl made and the disk clone. Each
 * step looks at the live system first, so a retry after a failure finishes
 * the job; the image volume stays (it is shared, like the image cache).
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import type { PropolisParts, VmRecord } from "../../lib/types.ts";
import type { BackendContext } from "../hypervisor.ts";
import { destroyZone } from "../zones/lifecycle.ts";
import { registryAt } from "../zones/registry.ts";
import { vnicExists } from "../zones/system.ts";
import { stopPropolisVm } from "./stop.ts";
import { STOP_TIMEOUT_MS } from "../../lib/defaults.ts";

/** Remove everything the Propolis backend made for `vm` (not its work dir). */
export async function destroyPropolisVm(
  vm: VmRecord,
  p: PropolisParts,
  ctx: BackendContext,
): Promise<void> {
  await stopPropolisVm(vm, p, STOP_TIMEOUT_MS, ctx.runner);
  try {
    await destroyZone(registryAt(), ctx.runner, p.zone, { forVm: vm.name });
  } catch (err) {
    // No registry entry: the reservation was never made or already removed.
    if (!(err instanceof Diagnostic && err.code === "zmgr::zone::not_found")) throw err;
  }
  if (p.guest_vnic_created && await vnicExists(ctx.runner, p.guest_vnic)) {
    await ctx.runner.run(["dladm", "delete-vnic", p.guest_vnic], {
      errorCode: "zmgr::exec::failed",
      hint: `see \`dladm show-vnic ${p.guest_vnic}\`; \`vmctl destroy ${vm.name}\` again retries`,
    });
  }
  const disk = await ctx.runner.run(["zfs", "list", "-H", "-o", "name", p.disk_dataset], {
    check: false,
    timeoutMs: 60_000,
  });
  if (disk.code === 0) {
    await ctx.runner.run(["zfs", "destroy", p.disk_dataset], {
      errorCode: "zmgr::exec::failed",
      hint: `see \`zfs list ${p.disk_dataset}\`; \`vmctl destroy ${vm.name}\` again retries`,
    });
  } else if (!/dataset does not exist/.test(disk.stderr)) {
    throw new Diagnostic(
      "zmgr::system::query_failed",
      `\`zfs list ${p.disk_dataset}\` failed without saying whether the disk exists`,
      {
        details: disk.stderr.trim().split("\n").slice(-5),
        hint: "run it by hand, fix the cause, and destroy again",
      },
    );
  }
}
