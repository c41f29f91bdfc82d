/**
 * `vmctl ssh [NAME] [--user U] [--key K] [--file F] [--timeout S] [-- COMMAND...]`:
 * an interactive shell through the system ssh client, or COMMAND run on the
 * guest with its exit status as vmctl's (for scripts). As with ssh itself,
 * COMMAND's words are joined with spaces and read by the guest's shell.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import type { VmDef } from "../lib/vmfile/types.ts";
import { inSeconds, SSH_READY_TIMEOUT_MS } from "../lib/defaults.ts";

export interface SshCommandOptions {
  name?: string;
  user?: string;
  key?: string;
  file?: string;
  timeout?: string;
}

/** Registers `vmctl ssh`. */
// deno-lint-ignore no-explicit-any
export function registerSshCommand(program: Command<any, any, any>): void {
  program
    .command("ssh")
    .description("open a shell on a VM, or run COMMAND there (after --) and return its status")
    .argument("[name]", "the VM (default: the only VM of VMFile.kdl)")
    .argument("[command...]", "command to run instead of a shell (put it after --)")
    .option("--name <name>", "the VM (same as NAME)")
    .option("--user <user>", "SSH user (default: VMFile ssh user, else the recorded one, else vm)")
    .option("--key <path>", "private key (default: the generated key, else ~/.ssh/id_*)")
    .option("--file <path>", "VMFile.kdl to read the VM name and ssh block from")
    .option(
      "--timeout <seconds>",
      "how long to wait for SSH to be ready",
      inSeconds(SSH_READY_TIMEOUT_MS),
    )
    .action(async (name, command, opts) => {
      // Operands after `--` are the command even when they come first (`vmctl ssh -- ls`).
      const operands = [name, ...command].filter((w): w is string => w !== undefined);
      const dash = Deno.args.indexOf("--");
      const afterDash = dash >= 0 ? Deno.args.length - dash - 1 : 0;
      const cmd = operands.slice(Math.max(operands.length - afterDash, 0));
      const named = operands.slice(0, operands.length - cmd.length);
      const code = await sshCommand(named[0], named.slice(1).concat(cmd), opts);
      if (code !== 0) Deno.exit(code);
    });
}

/** Run `vmctl ssh`; resolves with the exit status to use (the remote command's). */
export async function sshCommand(
  nameArg: string | undefined,
  command: string[],
  o: SshCommandOptions,
): Promise<number> {
  const { Diagnostic } = await import("../lib/diagnostics.ts");
  const { opsContext, timeoutOption } = await import("./common.ts");
  const { readStore, requireRecord } = await import("../lib/store.ts");
  const { validateVmName } = await import("../lib/names.ts");
  if (nameArg !== undefined && o.name !== undefined && nameArg !== o.name) {
    throw new Diagnostic("vmctl::ssh::two_names", `two VM names given: ${nameArg} and ${o.name}`, {
      hint: "name the VM once, as NAME or --name",
      exitCode: 2,
    });
  }
  const timeoutMs = timeoutOption(o.timeout) ?? SSH_READY_TIMEOUT_MS;
  const vmfile = await vmfileFor(nameArg ?? o.name, o.file);
  const name = validateVmName(nameArg ?? o.name ?? vmfile.inferredName!);
  const def = vmfile.defs.find((d) => d.name === name);

  const ctx = opsContext();
  const vm = requireRecord(await readStore(ctx.paths), name);
  const { backendFor } = await import("../backends/router.ts");
  const { sshTargetFor, waitForSsh, sshArgv } = await import("../backends/ssh/mod.ts");
  if (vm.backend !== "noop") {
    const live = await (await backendFor(vm.backend)).state(vm, ctx);
    if (live.state !== "running") {
      throw new Diagnostic(
        "vmctl::ssh::not_running",
        `VM '${name}' is ${live.state}, not running`,
        {
          hint: live.state === "suspended"
            ? `resume it: vmctl resume ${name}`
            : `start it: vmctl start ${name}`,
        },
      );
    }
  }
  const { target } = await sshTargetFor(vm, ctx, {
    cliUser: o.user,
    cliKey: o.key,
    vmfileUser: def?.ssh?.user,
    vmfileKey: def?.ssh?.privateKeyPath,
  });
  const { vmGoneReason } = await import("../backends/provision.ts");
  const backend = await backendFor(vm.backend);
  await waitForSsh(target, {
    timeoutMs,
    consoleLog: vm.console_log ?? undefined,
    vmGone: () => vmGoneReason(backend, vm, ctx),
  });

  const interactive = command.length === 0;
  const tty = interactive && Deno.stdin.isTerminal();
  if (interactive) {
    console.error(`Connecting to ${target.user}@${vm.name} (${target.host}:${target.port})...`);
  }
  // Interactive sessions may prompt for a key passphrase; commands never prompt.
  const argv = sshArgv(target, { batch: !interactive, tty });
  if (!interactive) argv.push(command.join(" "));
  const { execInteractive } = await import("../backends/exec.ts");
  const status = await execInteractive(argv);
  return status.signal ? 128 + signalNumber(status.signal) : status.code;
}

/** The VMFile's VMs (when one is at hand) and the name it implies when NAME is absent. */
async function vmfileFor(
  name: string | undefined,
  fileOpt: string | undefined,
): Promise<{ defs: VmDef[]; inferredName?: string }> {
  const { Diagnostic } = await import("../lib/diagnostics.ts");
  const { discoverVmFile, loadVmFile } = await import("../lib/vmfile/mod.ts");
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

function signalNumber(sig: Deno.Signal): number {
  const numbers: Partial<Record<Deno.Signal, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
    SIGPIPE: 13,
  };
  return numbers[sig] ?? 1;
}
