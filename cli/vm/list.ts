/**
 * `vmctl list [--json]` and `vmctl status NAME [--json]`.
 *
 * @module
 */
import { readStore, requireRecord } from "../../lib/store.ts";
import { formatTable, opsContext, printJson, vmNameArg } from "../common.ts";
import { refreshRecords } from "../../vm/reconcile.ts";
import { listView, shownState, statusText, statusView } from "./view.ts";

/** The action of `vmctl list`. */
export async function listCommand(opts: { json?: boolean }): Promise<void> {
  const ctx = opsContext();
  const records = await refreshRecords(ctx, await readStore(ctx.paths));
  if (opts.json) return printJson(records.map(listView));
  if (records.length === 0) {
    console.log("No VMs. Create one with `vmctl create` or `vmctl up`.");
    return;
  }
  const dash = (v: unknown) => (v === null || v === undefined ? "-" : String(v));
  console.log(formatTable(
    ["NAME", "BACKEND", "STATE", "VCPUS", "MEM", "NETWORK", "PID", "SSH"],
    records.map((r) => [
      r.name,
      r.backend,
      shownState(r),
      String(r.vcpus),
      String(r.memory_mb),
      r.network.type,
      dash(r.pid),
      dash(r.ssh_host_port),
    ]),
  ));
}

/** The action of `vmctl status NAME`. */
export async function statusCommand(name: string, opts: { json?: boolean }): Promise<void> {
  vmNameArg(name);
  const ctx = opsContext();
  const doc = await readStore(ctx.paths);
  const rec = requireRecord(doc, name);
  const [live] = await refreshRecords(ctx, { ...doc, vms: { [name]: rec } });
  if (opts.json) printJson(statusView(live));
  else console.log(statusText(live));
}
