/**
 * The no-op backend: runs no guest and touches nothing outside the store. Its
 * whole state is the record's `state`, so every lifecycle command and every
 * transition of the book's table can be exercised through the CLI
 * (VMCTL_BACKEND=noop). Capabilities that need a guest (SSH, console) are
 * refused with a diagnostic instead of pretending.
 *
 * Fault injection for tests: VMCTL_NOOP_FAIL=prepare,start,... makes those
 * operations fail with `vmctl::noop::injected_failure`; VMCTL_NOOP_DELAY=prepare:2000
 * makes them take that many milliseconds (to interrupt them).
 *
 * @module
 */
import { sleep } from "../lib/async.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import { env } from "../lib/paths.ts";
import type { VmRecord, VmState } from "../lib/types.ts";
import type { Hypervisor, StateReport } from "./hypervisor.ts";

async function injected(action: string): Promise<void> {
  for (const item of (env("VMCTL_NOOP_DELAY") ?? "").split(",")) {
    const [what, ms] = item.split(":");
    if (what === action) await sleep(Number(ms) || 0);
  }
  const list = (env("VMCTL_NOOP_FAIL") ?? "").split(",").map((s) => s.trim());
  if (list.includes(action)) {
    throw new Diagnostic("vmctl::noop::injected_failure", `noop backend: ${action} failed`, {
      hint: `VMCTL_NOOP_FAIL contains \`${action}\`; unset it to let ${action} succeed`,
    });
  }
}

function moved(vm: VmRecord, state: VmState): VmRecord {
  return { ...vm, state, state_reason: null, pid: null };
}

function noGuest(what: string): Diagnostic {
  return new Diagnostic("vmctl::noop::no_guest", `the noop backend runs no guest, so ${what}`, {
    hint: "use the qemu backend (VMCTL_BACKEND=qemu, the default on Linux) for a real VM",
  });
}

/** The no-op {@link Hypervisor}. */
export const noopBackend: Hypervisor = {
  tag: "noop",
  async prepare(spec, base) {
    await injected("prepare");
    return {
      ...base,
      state: "prepared",
      state_reason: null,
      image_path: spec.imagePath || null, // a URL image is only recorded (image_source), never fetched
      overlay_path: null,
      pid: null,
    };
  },
  async start(vm) {
    await injected("start");
    return moved(vm, "running");
  },
  async stop(vm) {
    await injected("stop");
    return moved(vm, "stopped");
  },
  async suspend(vm) {
    await injected("suspend");
    return moved(vm, "suspended");
  },
  async resume(vm) {
    await injected("resume");
    return moved(vm, "running");
  },
  async destroy() {
    await injected("destroy");
  },
  state(vm): Promise<StateReport> {
    return Promise.resolve({ state: vm.state, reason: vm.state_reason ?? undefined, pid: null });
  },
  guestIp() {
    return Promise.reject(noGuest("there is no SSH endpoint"));
  },
  consoleEndpoint() {
    return { kind: "none", reason: "the noop backend runs no guest, so it has no console" };
  },
};
