/**
 * Registers the declarative commands (VMFile.kdl): up, down, reload,
 * provision. Implementations (and the KDL parser) load only when one runs.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { inSeconds, PROVISION_READY_TIMEOUT_MS, STOP_TIMEOUT_MS } from "../lib/defaults.ts";
import { PLAN_JSON_HELP } from "../lib/plan.ts";

/** Registers this group's commands on `program`. */
// deno-lint-ignore no-explicit-any
export function registerDeclarativeCommands(program: Command<any, any, any>): void {
  program
    .command("up")
    .description("create, start and provision the VMs of VMFile.kdl")
    .option("--file <path>", "VMFile.kdl to use (default: ./VMFile.kdl)")
    .option("--name <name>", "only this VM")
    .option("--no-provision", "skip provisioning")
    .option("--fresh", "boot VMs afresh, discarding a state `down --save` kept")
    .option(
      "--timeout <seconds>",
      "how long to wait for SSH before provisioning",
      inSeconds(PROVISION_READY_TIMEOUT_MS),
    )
    .option("--dry-run", "print what would be created, started or skipped; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (opts) => {
      const { upCommand } = await import("./declarative/up.ts");
      await upCommand(opts);
    });

  program
    .command("down")
    .description("stop (or --destroy) the VMs of VMFile.kdl")
    .option("--file <path>", "VMFile.kdl to use (default: ./VMFile.kdl)")
    .option("--name <name>", "only this VM")
    .option("--destroy", "destroy the VMs instead of stopping them")
    .option("--adopt", "also destroy VMs of the same name created from another VMFile path")
    .option("--save", "save each VM's running state; the next `up` resumes it instead of booting")
    .option("--timeout <seconds>", "graceful shutdown timeout", inSeconds(STOP_TIMEOUT_MS))
    .option("--dry-run", "print what would be stopped or destroyed; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (opts) => {
      const { downCommand } = await import("./declarative/down.ts");
      await downCommand(opts);
    });

  program
    .command("reload")
    .description("destroy and recreate the VMs of VMFile.kdl")
    .option("--file <path>", "VMFile.kdl to use (default: ./VMFile.kdl)")
    .option("--name <name>", "only this VM")
    .option("--no-provision", "skip provisioning after recreating")
    .option("--adopt", "also recreate VMs of the same name created from another VMFile path")
    .option(
      "--timeout <seconds>",
      "how long to wait for SSH before provisioning",
      inSeconds(PROVISION_READY_TIMEOUT_MS),
    )
    .option("--dry-run", "print what would be destroyed and created; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (opts) => {
      const { reloadCommand } = await import("./declarative/reload.ts");
      await reloadCommand(opts);
    });

  program
    .command("provision")
    .description("re-run the provisioners of running VMs from VMFile.kdl")
    .option("--file <path>", "VMFile.kdl to use (default: ./VMFile.kdl)")
    .option("--name <name>", "only this VM")
    .option(
      "--timeout <seconds>",
      "how long to wait for SSH",
      inSeconds(PROVISION_READY_TIMEOUT_MS),
    )
    .option("--dry-run", "print the provisioning plan; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (opts) => {
      const { provisionCommand } = await import("./declarative/provision.ts");
      await provisionCommand(opts);
    });
}
