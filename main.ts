/**
 * vmctl: the command tree. Each command group lives in its own module under
 * cli/; their actions import the heavy modules lazily so start-up only loads
 * what the command uses. Invoked as `zmgr` (a symlink), the zone commands are
 * the top level (cli/invoked.ts).
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { currentInvocation, invokedName } from "./cli/invoked.ts";
import { reportError, runMain } from "./cli/run.ts";
import { fastPath, runFast } from "./cli/fast.ts";

export const VERSION = "0.1.0";

/**
 * Build the command tree for the name we were invoked by. commander and the
 * command groups are imported here, not at the top: `vmctl list` skips them
 * all (cli/fast.ts), and each statically imported module costs start-up.
 */
export async function buildProgram(invokedAs: string): Promise<Command> {
  const [
    { Command },
    { registerVmCommands },
    { registerDeclarativeCommands },
    { registerImageCommands },
    { registerValidateCommand },
    { registerSshCommand },
    { registerSeedCommand },
    { registerZoneCommands },
  ] = await Promise.all([
    import("@commander-js/extra-typings"),
    import("./cli/vm_commands.ts"),
    import("./cli/declarative_commands.ts"),
    import("./cli/image_commands.ts"),
    import("./cli/validate_command.ts"),
    import("./cli/ssh_command.ts"),
    import("./cli/seed_command.ts"),
    import("./cli/zone_commands.ts"),
  ]);
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
  const fast = fastPath(Deno.args);
  if (fast) await runFast(fast);
  const program = await buildProgram(invokedName(currentInvocation()))
    .catch((err) => Deno.exit(reportError(err))); // e.g. --allow-read withheld
  const { CommanderError } = await import("@commander-js/extra-typings"); // loaded by buildProgram
  await runMain(program, Deno.args, CommanderError);
}
