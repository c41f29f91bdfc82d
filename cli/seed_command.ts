/**
 * Registers `vmctl seed OUTPUT`: build a cloud-init NoCloud seed ISO in pure
 * TypeScript (a cloud-localds replacement). The ISO writer and key code load
 * only when the command runs.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Registers this group's commands on `program`. */
// deno-lint-ignore no-explicit-any
export function registerSeedCommand(program: Command<any, any, any>): void {
  program
    .command("seed")
    .description(
      "build a cloud-init NoCloud seed ISO (label cidata); without --user-data it generates a " +
        "cloud-config with an SSH user, a host key and, without --ssh-key, a key pair next to OUTPUT",
    )
    .argument("<output>", "ISO file to write (replaced atomically, mode 0600)")
    .option("--user-data <file>", "raw user-data, packed unchanged")
    .option("--meta-data <file>", "raw meta-data, packed unchanged")
    .option("--network-config <file>", "network-config (v1 or v2) to include")
    .option("--vendor-data <file>", "vendor-data to include")
    .option(
      "--hostname <name>",
      "guest host name (default: the OUTPUT file name without extension)",
    )
    .option("--user <name>", "SSH user to create (default: vm)")
    .option(
      "--ssh-key <pubfile>",
      "public key to authorise (default: generate OUTPUT-stem_ed25519)",
    )
    .option("--instance-id <id>", "cloud-init instance-id (default: a new random id)")
    .option(
      "--add <dir>",
      "also add this directory's contents at the image root (repeatable)",
      collect,
    )
    .action(async (output, opts) => {
      const { resolveUserPath } = await import("../lib/paths.ts");
      const { runSeedCommand, describeSeed } = await import("../lib/cloudinit/seed_cli.ts");
      const path = (p?: string) => (p === undefined ? undefined : resolveUserPath(p));
      const result = await runSeedCommand({
        output: resolveUserPath(output),
        userData: path(opts.userData),
        metaData: path(opts.metaData),
        networkConfig: path(opts.networkConfig),
        vendorData: path(opts.vendorData),
        hostname: opts.hostname,
        user: opts.user,
        sshKey: path(opts.sshKey),
        instanceId: opts.instanceId,
        add: opts.add?.map((d) => resolveUserPath(d)),
      });
      for (const line of describeSeed(result)) console.log(line);
    });
}
