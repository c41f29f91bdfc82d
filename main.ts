/**
 * vmctl: the command tree. Each command group lives in its own module under
 * cli/; their actions import the heavy modules lazily so start-up only loads
 * what the command uses. Invoked as `zmgr` (a symlink), the zone commands are
 * the top level.
 *
 * @module
 */
import process from "node:process";
import { basename } from "node:path";
import { Command, CommanderError } from "@commander-js/extra-typings";
import { runMain } from "./cli/run.ts";
import { registerVmCommands } from "./cli/vm_commands.ts";
import { registerDeclarativeCommands } from "./cli/declarative_commands.ts";
import { registerImageCommands } from "./cli/image_commands.ts";
import { registerValidateCommand } from "./cli/validate_command.ts";
import { registerSshCommand } from "./cli/ssh_command.ts";
import { registerSeedCommand } from "./cli/seed_command.ts";
import { registerZoneCommands } from "./cli/zone_commands.ts";

export const VERSION = "0.1.0";

/** Build the command tree for the name we were invoked by. */
export function buildProgram(invokedAs: string): Command {
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

if (import.meta.main) {
  const invokedAs = basename(process.argv0 || "vmctl").replace(/\.(ts|js)$/, "");
  const program = buildProgram(invokedAs === "zmgr" ? "zmgr" : "vmctl");
  await runMain(program, Deno.args, CommanderError);
}
