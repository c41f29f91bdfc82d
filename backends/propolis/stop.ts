/**
 * Stopping a Propolis VM: ask the instance to stop and follow it, keep the
 * serial history in the work dir, halt the zone (which ends the server).
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { log } from "../../lib/log.ts";
import type { PropolisParts, VmRecord } from "../../lib/types.ts";
import { vmFile } from "../../lib/vm_files.ts";
import type { Runner } from "../exec.ts";
import { zoneState } from "../zones/system.ts";
import { PropolisClient } from "./client.ts";
import { captureSerial } from "./serial.ts";

/** Stop `vm` within `timeoutMs` and halt its zone; a halted zone needs nothing. */
export async function stopPropolisVm(
  vm: VmRecord,
  p: PropolisParts,
  timeoutMs: number,
  runner: Runner,
): Promise<void> {
  const zone = await zoneState(runner, p.zone);
  if (zone === "running") {
    await stopInstance(vm, p, timeoutMs);
    await saveConsole(vm, p);
  }
  if (zone === "running" || zone === "ready") {
    await runner.run(["zoneadm", "-z", p.zone, "halt"], {
      errorCode: "vmctl::propolis::zone_halt",
      hint: `see \`zoneadm -z ${p.zone} list -v\``,
    });
  }
}

/**
 * Ask the instance to stop and follow it until it has; a server that no
 * longer answers, or an instance that is gone or halted already, needs no
 * stop (the zone's halt that follows ends the server either way).
 */
async function stopInstance(vm: VmRecord, p: PropolisParts, timeoutMs: number): Promise<void> {
  const client = new PropolisClient(p.server, vm.name);
  try {
    const state = await client.instanceState();
    if (state === null || state === "Stopped" || state === "Destroyed" || state === "Failed") {
      return;
    }
    await client.requestState("Stop");
    await client.waitForState(["Stopped", "Destroyed"], timeoutMs, ["Failed"]);
  } catch (err) {
    if (!(err instanceof Diagnostic)) throw err;
    log.warn(`VM '${vm.name}': ${err.message}; halting its zone`);
  }
}

/** Keep the serial history in the work dir before the server goes away with the zone. */
async function saveConsole(vm: VmRecord, p: PropolisParts): Promise<void> {
  try {
    await captureSerial(p.server, consoleLogOf(vm), { instance: p.instance_uuid });
  } catch (err) {
    log.warn(
      `VM '${vm.name}': its console output was not saved (${
        err instanceof Error ? err.message : err
      })`,
    );
  }
}

/** Where a VM's console output is kept. */
export function consoleLogOf(vm: VmRecord): string {
  return vm.console_log ?? vmFile(vm.work_dir, "consoleLog");
}
