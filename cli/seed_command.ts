/**
 * Registers `vmctl seed OUTPUT`: build a cloud-init NoCloud seed ISO in pure
 * TypeScript (a cloud-localds replacement). The ISO writer and key code load
 * only when the command runs.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { collect } from "./repeatable.ts";

/** `vmctl seed`'s options: flag, key in the parsed options, value name, help; all take a value. */
export const SEED_OPTIONS = [
  ["--user-data", "userData", "file", "raw user-data, packed unchanged"],
  ["--meta-data", "metaData", "file", "raw meta-data, packed unchanged"],
  ["--network-config", "networkConfig", "file", "network-config (v1 or v2) to include"],
  ["--vendor-data", "vendorData", "file", "vendor-data to include"],
  [
    "--hostname",
    "hostname",
    "name",
    "guest host name (default: the OUTPUT file name without extension)",
  ],
  ["--user", "user", "name", "SSH user to create (default: vm)"],
  [
    "--ssh-key",
    "sshKey",
    "pubfile",
    "public key to authorise (default: generate OUTPUT-stem_ed25519)",
  ],
  ["--instance-id", "instanceId", "id", "cloud-init instance-id (default: a new random id)"],
  ["--add", "add", "dir", "also add this directory's contents at the image root (repeatable)"],
] as const;

/** Parsed `vmctl seed` options (`add` is the repeatable one). */
export type SeedOptions =
  & { [K in Exclude<(typeof SEED_OPTIONS)[number][1], "add">]?: string }
  & { add?: string[] };

/** Registers this group's commands on `program`. */
// deno-lint-ignore no-explicit-any
export function registerSeedCommand(program: Command<any, any, any>): void {
  const cmd = program
    .command("seed")
    .description(
      "build a cloud-init NoCloud seed ISO (label cidata); without --user-data it generates a " +
        "cloud-config with an SSH user, a host key and, without --ssh-key, a key pair next to OUTPUT",
    )
    .argument("<output>", "ISO file to write (replaced atomically, mode 0600)");
  for (const [flag, key, meta, help] of SEED_OPTIONS) {
    if (key === "add") cmd.option(`${flag} <${meta}>`, help, collect);
    else cmd.option(`${flag} <${meta}>`, help);
  }
  cmd.action((output, opts) => seedAction(output, opts as SeedOptions));
}

/** The action of `vmctl seed`. */
export async function seedAction(output: string, opts: SeedOptions): Promise<void> {
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
}
