/**
 * The no-op backend: runs no guest and touches nothing outside the store. Its
 * whole state is the record's `state`, so every lifecycle command and every
 * transition of the book's table can be exercised through the CLI
 * (VMCTL_BACKEND=noop). Capabilities that need a guest (SSH, console) are
 * refused with a diagnostic instead of pretending.
 *
 * Fault injection for tests: VMCTL_NOOP_FAIL=prepare,start,... makes those
 * operations fail with `vmctl::noop::injected_failure`.
 *
 * @module
 */
import { Diagnostic } from "../lib/diagnostics.ts";
import { env } from "../lib/paths.ts";
import type { VmRecord, VmState } from "../lib/types.ts";
import type { Hypervisor, StateReport } from "./hypervisor.ts";

function injected(action: string): void {
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
  prepare(spec, base) {
    injected("prepare");
    return Promise.resolve({
      ...base,
      state: "prepared",
      state_reason: null,
      image_path: spec.imagePath || null, // a URL image is only recorded (image_source), never fetched
      overlay_path: null,
      pid: null,
      ssh_host_port: null,
    });
  },
  start(vm) {
    injected("start");
    return Promise.resolve(moved(vm, "running"));
  },
  stop(vm) {
    injected("stop");
    return Promise.resolve(moved(vm, "stopped"));
  },
  suspend(vm) {
    injected("suspend");
    return Promise.resolve(moved(vm, "suspended"));
  },
  resume(vm) {
    injected("resume");
    return Promise.resolve(moved(vm, "running"));
  },
  destroy() {
    injected("destroy");
    return Promise.resolve();
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
