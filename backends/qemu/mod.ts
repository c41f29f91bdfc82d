// PLACEHOLDER owned by the QEMU issue (#3): replaced by the real backend.
import { Diagnostic } from "../../lib/diagnostics.ts";
import type { Hypervisor } from "../hypervisor.ts";

const unavailable = () =>
  Promise.reject(
    new Diagnostic("vmctl::qemu::unavailable", "the QEMU backend is not available yet", {
      hint: "set VMCTL_BACKEND=noop",
    }),
  );

export const qemuBackend: Hypervisor = {
  tag: "qemu",
  prepare: unavailable,
  start: unavailable,
  stop: unavailable,
  suspend: unavailable,
  resume: unavailable,
  destroy: unavailable,
  state: unavailable,
  guestIp: unavailable,
  consoleEndpoint: () => ({ kind: "none", reason: "the QEMU backend is not available yet" }),
};
