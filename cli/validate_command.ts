/**
 * `vmctl validate [--file F] [--json]`: parse and check a VMFile, print what
 * it defines (or every problem, with positions). The parser is imported
 * lazily so other commands never load KDL.
 *
 * @module
 */
import { describeNetwork } from "../lib/types.ts";
import type { Command } from "@commander-js/extra-typings";
import { toDiagnostics } from "../lib/diagnostics.ts";
import { machineOf, type VmDef, type VmFile } from "../lib/vmfile/types.ts";

/** Registers `vmctl validate`. */
// deno-lint-ignore no-explicit-any
export function registerValidateCommand(program: Command<any, any, any>): void {
  program
    .command("validate")
    .description("check a VMFile.kdl and show the VMs it defines")
    .option("-f, --file <path>", "the VMFile to check (default: ./VMFile.kdl)")
    .option("--json", "print the result as JSON on stdout")
    .action(async (opts: { file?: string; json?: boolean }) => {
      const { discoverVmFile, loadVmFile } = await import("../lib/vmfile/mod.ts");
      let path: string | undefined;
      try {
        path = discoverVmFile(opts.file);
        const file = await loadVmFile(path);
        console.log(opts.json ? JSON.stringify(validateJson(file), null, 2) : summary(file));
      } catch (err) {
        if (opts.json) {
          const errors = toDiagnostics(err).map((d) => d.toJSON());
          console.log(JSON.stringify({ file: path ?? opts.file ?? null, errors }, null, 2));
        }
        throw err;
      }
    });
}

/** The `--json` document for a valid file: positions instead of whole spans. */
export function validateJson(file: VmFile): Record<string, unknown> {
  return { file: file.path, vms: file.vms.map(vmJson) };
}

function vmJson(vm: VmDef): Record<string, unknown> {
  return {
    name: vm.name,
    line: vm.span.line,
    ...machineOf(vm),
    provision: vm.provision.map(({ span, ...step }) => ({ ...step, line: span.line })),
  };
}

/** The human summary: one block per VM. */
export function summary(file: VmFile): string {
  const n = file.vms.length;
  const lines = [`${file.path}: OK, ${n} VM${n === 1 ? "" : "s"}`];
  for (const vm of file.vms) {
    lines.push("", `${vm.name} (line ${vm.span.line})`);
    const row = (k: string, v: string) => lines.push(`  ${k.padEnd(11)}${v}`);
    row("image", imageText(vm));
    row("vcpus", String(vm.vcpus));
    row("memory", `${vm.memoryMb} MB`);
    row("disk", vm.diskGb === undefined ? "size of the base image" : `${vm.diskGb} GB`);
    row("network", networkText(vm));
    row("firmware", vm.uefi ? "UEFI" : "BIOS");
    if (vm.accel) row("accel", vm.accel);
    if (vm.vnc) row("vnc", "on (127.0.0.1)");
    row("cloud-init", cloudInitText(vm));
    row("ssh", vm.ssh ? sshText(vm.ssh) : "none");
    const p = vm.provision.length;
    row("provision", p === 0 ? "none" : `${p} step${p === 1 ? "" : "s"}`);
  }
  return lines.join("\n");
}

function imageText(vm: VmDef): string {
  if (vm.image.kind === "path") return vm.image.path;
  return vm.image.sha256 ? `${vm.image.url} (sha256 ${vm.image.sha256})` : vm.image.url;
}

function networkText(vm: VmDef): string {
  const n = vm.network;
  if (n.type === "tap") return `tap (bridge ${n.bridge})`;
  if (n.type === "vnic") return `${describeNetwork(n)} (illumos only)`;
  return n.type;
}

function cloudInitText(vm: VmDef): string {
  const c = vm.cloudInit;
  if (!c) return "none (no seed)";
  const parts = [`hostname ${c.hostname ?? vm.name}`];
  if (c.userDataPath) parts.push(`user-data ${c.userDataPath}`);
  else if (c.sshKeyPath) parts.push(`ssh-key ${c.sshKeyPath}`);
  else parts.push("generated key pair");
  if (c.networkConfigPath) parts.push(`network-config ${c.networkConfigPath}`);
  if (c.vendorDataPath) parts.push(`vendor-data ${c.vendorDataPath}`);
  return parts.join(", ");
}

function sshText(ssh: { user: string; privateKeyPath?: string }): string {
  return ssh.privateKeyPath ? `${ssh.user} (key ${ssh.privateKeyPath})` : ssh.user;
}
