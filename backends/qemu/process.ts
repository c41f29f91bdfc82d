/**
 * The life of a VM's QEMU process: is it alive (and really ours), how to stop
 * it (ACPI over QMP, then SIGTERM, then SIGKILL, waiting until it is gone),
 * and the last console lines for error messages.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { log } from "../../lib/log.ts";
import { connectQmp } from "../../lib/qmp.ts";
import type { VmRecord } from "../../lib/types.ts";
import { sleep } from "../../lib/async.ts";
import { isOurQemu, readPidFile, signal, waitGone } from "./host.ts";

/** The PID of this VM's running QEMU, or null. A PID that is not provably ours is ignored. */
export async function liveQemu(vm: VmRecord, pidFile: string): Promise<number | null> {
  const candidates = [readPidFile(pidFile), vm.pid ?? null];
  for (const pid of candidates) {
    if (pid && await isOurQemu(pid, pidFile)) return pid;
  }
  return null;
}

/** Poll interval while waiting for the guest to power off. */
export const POLL_MS = 250;

/**
 * Stop QEMU `pid`: ask over QMP (`system_powerdown`: the guest shuts down
 * through ACPI; or `quit`: QEMU exits at once), poll every 250 ms until
 * `timeoutMs`, then SIGTERM, then SIGKILL, and return only when it is gone.
 * Each signal is sent only after re-checking the PID is still this VM's QEMU.
 */
export async function stopQemu(
  vm: VmRecord,
  pid: number,
  pidFile: string,
  timeoutMs: number,
  how: "system_powerdown" | "quit" = "system_powerdown",
): Promise<"graceful" | "terminated" | "killed"> {
  const t0 = Date.now();
  if (vm.qmp_socket && (timeoutMs > 0 || how === "quit")) {
    try {
      const qmp = await connectQmp(vm.qmp_socket, { timeoutMs: 2_000 });
      try {
        await qmp.execute(how, undefined, { timeoutMs: 2_000 });
      } finally {
        qmp.close();
      }
    } catch (err) {
      // `quit` may close the socket before the reply arrives; other failures escalate below.
      log.debug(`qmp ${how} for ${vm.name}: ${err instanceof Error ? err.message : err}`);
    }
  }
  const budget = how === "quit" ? Math.max(timeoutMs, 5_000) : timeoutMs;
  while (Date.now() - t0 < budget) {
    if (!(await isOurQemu(pid, pidFile))) return "graceful";
    await sleep(POLL_MS);
  }
  if (!(await isOurQemu(pid, pidFile))) return "graceful";
  log.warn(`VM '${vm.name}' did not stop within ${Math.round(budget / 1000)} s; sending SIGTERM`);
  signal(pid, "SIGTERM");
  if (await waitGone(pid, pidFile, 5_000)) return "terminated";
  if (await isOurQemu(pid, pidFile)) {
    log.warn(`VM '${vm.name}' ignored SIGTERM; sending SIGKILL`);
    signal(pid, "SIGKILL");
  }
  if (await waitGone(pid, pidFile, 10_000)) return "killed";
  throw new Diagnostic("vmctl::qemu::stop_failed", `QEMU (pid ${pid}) survived SIGKILL`, {
    hint: "the process is stuck in the kernel (D state); check `ps -o stat= -p " + pid + "`",
  });
}
