/**
 * `vmctl ssh`: which VM is meant (NAME, --name, or the only VM of the
 * VMFile), that it runs, and a shell or a command on it through the system ssh
 * client once its SSH server answers. The remote command's exit status is the
 * result (a signal as 128 + its number, as shells report it).
 *
 * @module
 */
import { Diagnostic } from "../lib/diagnostics.ts";
import { validateVmName } from "../lib/names.ts";
import { readStore, requireRecord } from "../lib/store.ts";
import type { VmRecord } from "../lib/types.ts";
import { discoverVmFile, loadVmFile } from "../lib/vmfile/mod.ts";
import type { VmDef } from "../lib/vmfile/types.ts";
import { execInteractive } from "../backends/exec.ts";
import { vmGoneReason } from "../backends/provision.ts";
import { backendFor } from "../backends/router.ts";
import { sshArgv, type SshTarget, sshTargetFor, waitForSsh } from "../backends/ssh/mod.ts";
import type { VmContext } from "./context.ts";
import { host } from "../host/mod.ts";
import type { Signal } from "../host/mod.ts";

export interface SshSessionOptions {
  /** NAME or --name; absent: the only VM of the VMFile. */
  name?: string;
  user?: string;
  key?: string;
  /** --file: the VMFile to read the VM name and ssh block from. */
  file?: string;
  /** How long to wait for the guest's SSH server. */
  timeoutMs: number;
  /** Printed before an interactive session starts. */
  say: (line: string) => void;
}

/** Run `command` on the VM (a shell when empty); resolves with the exit status to use. */
export async function sshSession(
  ctx: VmContext,
  command: string[],
  o: SshSessionOptions,
): Promise<number> {
  const { vm, target } = await readyTarget(ctx, o);
  const interactive = command.length === 0;
  if (interactive) {
    o.say(`Connecting to ${target.user}@${vm.name} (${target.host}:${target.port})...`);
  }
  // Interactive sessions may prompt for a key passphrase; commands never prompt.
  const argv = sshArgv(target, {
    batch: !interactive,
    tty: interactive && host.stdin.isTerminal(),
  });
  if (!interactive) argv.push(command.join(" "));
  const status = await execInteractive(argv);
  return status.signal ? 128 + signalNumber(status.signal) : status.code;
}

/** The VM meant, running, with its SSH server answering. */
async function readyTarget(
  ctx: VmContext,
  o: SshSessionOptions,
): Promise<{ vm: VmRecord; target: SshTarget }> {
  const vmfile = await vmfileFor(o.name, o.file);
  const name = validateVmName(o.name ?? vmfile.inferredName!);
  const def = vmfile.defs.find((d) => d.name === name);
  const vm = requireRecord(await readStore(ctx.paths), name);
  const backend = await backendFor(vm.backend);
  if (vm.backend !== "noop") requireRunning(name, (await backend.state(vm, ctx)).state);
  const { target } = await sshTargetFor(vm, ctx, {
    cliUser: o.user,
    cliKey: o.key,
    vmfileUser: def?.ssh?.user,
    vmfileKey: def?.ssh?.privateKeyPath,
  });
  await waitForSsh(target, {
    timeoutMs: o.timeoutMs,
    consoleLog: vm.console_log ?? undefined,
    vmGone: () => vmGoneReason(backend, vm, ctx),
  });
  return { vm, target };
}

function requireRunning(name: string, state: string): void {
  if (state === "running") return;
  throw new Diagnostic("vmctl::ssh::not_running", `VM '${name}' is ${state}, not running`, {
    hint: state === "suspended"
      ? `resume it: vmctl resume ${name}`
      : `start it: vmctl start ${name}`,
  });
}

/** The VMFile's VMs (when one is at hand) and the name it implies when NAME is absent. */
async function vmfileFor(
  name: string | undefined,
  fileOpt: string | undefined,
): Promise<{ defs: VmDef[]; inferredName?: string }> {
  let path: string;
  try {
    path = discoverVmFile(fileOpt);
  } catch (err) {
    // Without --file, a missing ./VMFile.kdl only matters when the name must come from it.
    if (name !== undefined && fileOpt === undefined) return { defs: [] };
    if (fileOpt === undefined && err instanceof Diagnostic) {
      throw new Diagnostic(
        "vmctl::ssh::no_name",
        "which VM? no NAME given and no VMFile.kdl here",
        {
          hint: "run `vmctl ssh NAME` (`vmctl list` shows the VMs), or pass --file VMFILE",
          exitCode: 2,
        },
      );
    }
    throw err;
  }
  let defs: VmDef[];
  try {
    defs = (await loadVmFile(path, { checkFiles: false })).vms;
  } catch (err) {
    // With NAME given, ./VMFile.kdl only refines user and key: a broken one must not lock the
    // user out of their VM. An explicit --file, or a needed inference, reports the errors.
    if (name !== undefined && fileOpt === undefined) return { defs: [] };
    throw err;
  }
  if (name !== undefined) return { defs };
  if (defs.length === 1) return { defs, inferredName: defs[0].name };
  throw new Diagnostic(
    "vmctl::ssh::ambiguous",
    defs.length === 0
      ? `${path} defines no VMs, so there is no VM to pick`
      : `${path} defines ${defs.length} VMs (${defs.map((d) => d.name).join(", ")}): which one?`,
    {
      hint: defs.length ? `name it: vmctl ssh ${defs[0].name}` : "name the VM: vmctl ssh NAME",
      exitCode: 2,
    },
  );
}

const SIGNAL_NUMBERS: Partial<Record<Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGPIPE: 13,
  SIGTERM: 15,
};

function signalNumber(sig: Signal): number {
  return SIGNAL_NUMBERS[sig] ?? 1;
}
