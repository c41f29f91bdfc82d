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
import { host } from "./host/mod.ts";

export const VERSION = "0.1.0";

/**
 * Build the command tree for the name we were invoked by. commander and the
 * command groups are imported together here, in one module graph load, so a
 * failed import (e.g. --allow-read withheld) is reported as a diagnostic.
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
    { registerCompletionCommands },
  ] = await Promise.all([
    import("@commander-js/extra-typings"),
    import("./cli/vm_commands.ts"),
    import("./cli/declarative_commands.ts"),
    import("./cli/image_commands.ts"),
    import("./cli/validate_command.ts"),
    import("./cli/ssh_command.ts"),
    import("./cli/seed_command.ts"),
    import("./cli/zone_commands.ts"),
    import("./cli/completion_command.ts"),
  ]);
  if (invokedAs === "zmgr") {
    const zmgr = new Command("zmgr").version(VERSION).description(
      "manage illumos zones from KDL templates with automatic address allocation",
    );
    registerZoneCommands(offlineOption(zmgr));
    registerCompletionCommands(zmgr);
    return zmgr;
  }
  const program = new Command("vmctl").version(VERSION).description(
    "create, run and provision virtual machines (QEMU/KVM, Propolis) and illumos zones",
  );
  offlineOption(program);
  registerVmCommands(program);
  registerSshCommand(program);
  registerDeclarativeCommands(program);
  registerValidateCommand(program);
  registerImageCommands(program);
  registerSeedCommand(program);
  const zone = program.command("zone").description("manage illumos zones (zmgr)");
  registerZoneCommands(zone);
  registerCompletionCommands(zone, "zmgr");
  registerCompletionCommands(program);
  return program;
}

/** The global `--offline` (VMCTL_OFFLINE=1 does the same): before any action runs. */
function offlineOption(program: Command): Command {
  return program
    .option("--offline", "never use the network: images come from the cache (or VMCTL_OFFLINE=1)")
    .hook("preAction", async (root) => {
      if (!root.opts().offline) return;
      const { goOffline } = await import("./lib/offline.ts");
      goOffline();
    });
}

/**
 * `vmctl list` and `vmctl list --json` exactly, as vmctl (not zmgr): the one command run without
 * the command tree, because loading commander alone costs about as much as an empty `deno run`
 * (docs/decisions.md). Anything else, `list --help` included, goes through the tree.
 */
function plainList(args: string[], invokedAs: string): { json: boolean } | undefined {
  if (invokedAs !== "vmctl" || args[0] !== "list" || args.length > 2) return undefined;
  if (args.length === 2 && args[1] !== "--json") return undefined;
  return { json: args.length === 2 };
}

/** Run the command line of this process; the Node entry calls it after installing its host. */
export async function main(): Promise<void> {
  // `__complete`, or `zone __complete` from the zmgr launcher: run at every TAB of a completion
  // script, so no command tree, and never an error on screen.
  const complete = host.args.indexOf("__complete");
  if (complete === 0 || (complete === 1 && host.args[0] === "zone")) {
    const run = import("./cli/completion/names.ts").then((m) =>
      m.completeCommand(host.args.slice(complete + 1))
    );
    host.exit(await run.then(() => 0, () => 0));
  }
  const list = plainList(host.args, invokedName(currentInvocation()));
  if (list) {
    // A failed import (--allow-read withheld) is reported like any other error.
    const run = import("./cli/vm/list.ts").then(({ listCommand }) => listCommand(list));
    host.exit(await run.then(() => 0, reportError));
  }
  const program = await buildProgram(invokedName(currentInvocation()))
    .catch((err) => host.exit(reportError(err))); // e.g. --allow-read withheld
  const { CommanderError } = await import("@commander-js/extra-typings"); // loaded by buildProgram
  await runMain(program, host.args, CommanderError);
}

// Not awaited: a top-level await would keep the bundle from being built as CommonJS (the Node SEA).
if (import.meta.main) main();
