/**
 * `vmctl ssh [NAME] [--user U] [--key K] [--file F] [--timeout S] [-- COMMAND...]`:
 * an interactive shell through the system ssh client, or COMMAND run on the
 * guest with its exit status as vmctl's (for scripts). As with ssh itself,
 * COMMAND's words are joined with spaces and read by the guest's shell.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { inSeconds, SSH_READY_TIMEOUT_MS } from "../lib/defaults.ts";
import { host } from "../host/mod.ts";

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
      const dash = host.args.indexOf("--");
      const afterDash = dash >= 0 ? host.args.length - dash - 1 : 0;
      const cmd = operands.slice(Math.max(operands.length - afterDash, 0));
      const named = operands.slice(0, operands.length - cmd.length);
      // The remote command's status is vmctl's; cli/run.ts exits with it.
      host.exitCode = await sshCommand(named[0], named.slice(1).concat(cmd), opts);
    });
}

/** Run `vmctl ssh`; resolves with the exit status to use (the remote command's). */
export async function sshCommand(
  nameArg: string | undefined,
  command: string[],
  o: SshCommandOptions,
): Promise<number> {
  const { opsContext, timeoutOption, usageError } = await import("./common.ts");
  const { sshSession } = await import("../vm/ssh.ts");
  if (nameArg !== undefined && o.name !== undefined && nameArg !== o.name) {
    throw usageError(
      "vmctl::ssh::two_names",
      `two VM names given: ${nameArg} and ${o.name}`,
      "name the VM once, as NAME or --name",
    );
  }
  return await sshSession(opsContext(), command, {
    name: nameArg ?? o.name,
    user: o.user,
    key: o.key,
    file: o.file,
    timeoutMs: timeoutOption(o.timeout) ?? SSH_READY_TIMEOUT_MS,
    say: (line) => console.error(line),
  });
}
