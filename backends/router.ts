/**
 * Picks the backend for a VM: the record's `backend` tag for existing VMs,
 * {@link defaultBackendTag} (VMCTL_BACKEND, else by platform) for new ones.
 * The QEMU backend is imported lazily so a command loads only what it uses;
 * the noop backend is small and imported up front (one module graph load
 * fewer for `vmctl list`).
 *
 * @module
 */
import { Diagnostic, didYouMean } from "../lib/diagnostics.ts";
import { env } from "../lib/paths.ts";
import { BACKEND_TAGS, type BackendTag } from "../lib/types.ts";
import type { Hypervisor } from "./hypervisor.ts";
import { noopBackend } from "./noop.ts";
import { host } from "../host/mod.ts";

/** The backend for new VMs: VMCTL_BACKEND if set, else qemu on Linux, propolis on illumos. */
export function defaultBackendTag(): BackendTag {
  const chosen = env("VMCTL_BACKEND");
  if (chosen) return checkTag(chosen, "VMCTL_BACKEND");
  switch (host.os) {
    case "linux":
      return "qemu";
    case "illumos":
      return "propolis";
    default:
      throw new Diagnostic(
        "vmctl::backend::unsupported_platform",
        `vmctl has no VM backend for ${host.os}`,
        {
          hint:
            "VMs run on Linux (QEMU) and illumos (Propolis); VMCTL_BACKEND=noop tries the commands",
        },
      );
  }
}

function checkTag(tag: string, source: string): BackendTag {
  if ((BACKEND_TAGS as readonly string[]).includes(tag)) return tag as BackendTag;
  throw new Diagnostic("vmctl::backend::unknown", `unknown backend \`${tag}\` (from ${source})`, {
    hint: didYouMean(tag, BACKEND_TAGS),
  });
}

/** The backend implementation for `tag` (a record's `backend` field). */
export async function backendFor(tag: string): Promise<Hypervisor> {
  switch (checkTag(tag, "the VM record")) {
    case "noop":
      return noopBackend;
    case "qemu":
      return (await import("./qemu/mod.ts")).qemuBackend;
    case "propolis":
      return (await import("./propolis/mod.ts")).propolisBackend;
  }
}
