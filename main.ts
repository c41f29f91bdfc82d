/**
 * vmctl: the command tree. Each command group lives in its own module under
 * cli/; their actions import the heavy modules lazily so start-up only loads
 * what the command uses. Invoked as `zmgr` (a symlink), the zone commands are
 * the top level.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { basename } from "./lib/posix_path.ts";
import { runMain } from "./cli/run.ts";
import { fastPath, runFast } from "./cli/vm/fast.ts";
import { registerVmCommands } from "./cli/vm_commands.ts";
import { registerDeclarativeCommands } from "./cli/declarative_commands.ts";
import { registerImageCommands } from "./cli/image_commands.ts";
import { registerValidateCommand } from "./cli/validate_command.ts";
import { registerSshCommand } from "./cli/ssh_command.ts";
import { registerSeedCommand } from "./cli/seed_command.ts";
import { registerZoneCommands } from "./cli/zone_commands.ts";

export const VERSION = "0.1.0";

/**
 * Build the command tree for the name we were invoked by. commander is
 * imported here, not at the top: `vmctl list` skips it (cli/vm/fast.ts).
 */
export async function buildProgram(invokedAs: string): Promise<Command> {
  const { Command } = await import("@commander-js/extra-typings");
  if (invokedAs === "zmgr") {
    const zmgr = new Command("zmgr").version(VERSION).description(
      "manage illumos zones from KDL templates with automatic address allocation",
    );
    registerZoneCommands(zmgr);
    return zmgr;
  }
  const program = new Command("vmctl").version(VERSION).description(
    "create, run and provision virtual machines (QEMU/KVM, Propolis) and illumos zones",
  );
  registerVmCommands(program);
  registerSshCommand(program);
  registerDeclarativeCommands(program);
  registerValidateCommand(program);
  registerImageCommands(program);
  registerSeedCommand(program);
  registerZoneCommands(program.command("zone").description("manage illumos zones (zmgr)"));
  return program;
}

/**
 * The name we were invoked by. `process.argv0` is the symlink name for a
 * compiled binary (or a launcher using `exec -a zmgr`); under `deno run` it is
 * `deno`, and a symlinked bundle/script shows up as `process.argv[1]` instead.
 */
export function invokedName(
  argv0: string | undefined,
  script: string | undefined,
): "zmgr" | "vmctl" {
  const names = [argv0, script].map((n) => basename(n || "").replace(/\.(ts|js)$/, ""));
  return names.includes("zmgr") ? "zmgr" : "vmctl";
}

if (import.meta.main) {
  const fast = fastPath(Deno.args);
  if (fast) await runFast(fast);
  const { default: process } = await import("node:process");
  const { CommanderError } = await import("@commander-js/extra-typings");
  const program = await buildProgram(invokedName(process.argv0, process.argv[1]));
  await runMain(program, Deno.args, CommanderError);
}
