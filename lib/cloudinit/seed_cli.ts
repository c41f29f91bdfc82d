/**
 * `vmctl seed OUTPUT ...`: a cloud-localds replacement. With raw user-data
 * the files are packed as given; otherwise the same cloud-config as a VM
 * gets is generated, with a host key and, when no --ssh-key is given, a
 * client key pair next to OUTPUT (`<stem>_ed25519`, reused when present).
 * The ISO replaces OUTPUT atomically but is not fsynced, like genisoimage's
 * output: it is an artifact the user can rebuild, not vmctl state.
 *
 * @module
 */
import { DEFAULT_SSH_USER } from "../defaults.ts";
import { basename, dirname, join } from "../posix_path.ts";
import { Diagnostic, EXIT_USAGE } from "../diagnostics.ts";
import { entriesFromDirectory, type IsoEntry, SECTOR } from "../iso9660/mod.ts";
import {
  buildMetaData,
  buildUserData,
  defaultHostname,
  newInstanceId,
  validateHostname,
  validateUserName,
} from "./config.ts";
import {
  clientKeySteps,
  commitFiles,
  knownHostsStep,
  prepareSeedKeys,
  type SeedKeys,
} from "./keys.ts";
import { readSeedInput, type SeedFiles, writeSeedIso } from "./seed.ts";
import { host, isNotFound } from "../../host/mod.ts";

export interface SeedCommandOptions {
  /** Absolute output path. */
  output: string;
  userData?: string;
  metaData?: string;
  networkConfig?: string;
  vendorData?: string;
  hostname?: string;
  user?: string;
  sshKey?: string;
  instanceId?: string;
  /** Directories whose contents are added at the root of the image. */
  add?: string[];
}

export interface SeedCommandResult {
  output: string;
  sectors: number;
  bytes: number;
  hostname?: string;
  user?: string;
  instanceId?: string;
  /** Set when the client key pair next to OUTPUT is used (generated now or reused). */
  privateKey?: string;
  generatedKey: boolean;
  knownHosts?: string;
  hostKeyAlias?: string;
}

const enc = new TextEncoder();

function conflict(a: string, b: string[], why: string): Diagnostic {
  return new Diagnostic(
    "vmctl::seed::conflicting_options",
    `--${a} cannot be combined with ${b.map((x) => `--${x}`).join(", ")}`,
    { hint: why, exitCode: EXIT_USAGE },
  );
}

/** Build the seed described by the command line. */
export async function runSeedCommand(o: SeedCommandOptions): Promise<SeedCommandResult> {
  const generatedOnly = (["ssh-key", "user"] as const).filter((k) =>
    (k === "ssh-key" ? o.sshKey : o.user) !== undefined
  );
  if (o.userData && generatedOnly.length) {
    throw conflict(
      "user-data",
      generatedOnly,
      "raw user-data is used unchanged; put the user and key in it",
    );
  }
  if (o.metaData && o.instanceId !== undefined) {
    throw conflict(
      "meta-data",
      ["instance-id"],
      "raw meta-data is used unchanged; set instance-id in it",
    );
  }
  if (o.metaData && o.userData && o.hostname !== undefined) {
    throw conflict(
      "hostname",
      ["meta-data", "user-data"],
      "both files are used unchanged; set local-hostname in meta-data",
    );
  }
  const dir = dirname(o.output);
  const stem = basename(o.output).replace(/(?<=.)\.[^.]*$/, "") || "seed"; // web1.iso -> web1
  const hostname = o.hostname !== undefined ? validateHostname(o.hostname) : defaultHostname(stem);
  const instanceId = o.instanceId ?? newInstanceId();
  const files: Partial<SeedFiles> = {};
  files.metaData = o.metaData
    ? await readSeedInput(o.metaData, "meta-data")
    : enc.encode(buildMetaData({ instanceId, hostname }));
  if (o.networkConfig) files.networkConfig = await readSeedInput(o.networkConfig, "network-config");
  if (o.vendorData) files.vendorData = await readSeedInput(o.vendorData, "vendor-data");
  let keys: SeedKeys | undefined;
  const user = o.user ?? DEFAULT_SSH_USER;
  if (o.userData) files.userData = await readSeedInput(o.userData, "user-data");
  else {
    validateUserName(user);
    keys = await prepareSeedKeys({
      sshKeyPath: o.sshKey,
      generatedKeyPath: join(dir, `${stem}_ed25519`),
      clientComment: `${user}@${hostname}`,
      hostname,
      alias: `vmctl-${hostname}`,
    });
    files.userData = enc.encode(
      buildUserData({
        user,
        // With raw meta-data its local-hostname rules, unless --hostname says otherwise.
        hostname: o.metaData && o.hostname === undefined ? undefined : hostname,
        authorizedKey: keys.authorizedKey,
        hostKey: keys.hostKey,
      }),
    );
  }
  const extra: IsoEntry[] = [];
  for (const d of o.add ?? []) extra.push(...await entriesFromDirectory(d));
  await assertNotDirectory(o.output);

  const knownHosts = join(dir, `${stem}.known_hosts`);
  let sectors = 0;
  await commitFiles([
    ...(keys ? clientKeySteps(keys) : []),
    {
      path: o.output,
      write:
        async () => (sectors =
          (await writeSeedIso(o.output, files as SeedFiles, { extra, sync: false })).totalSectors),
    },
    ...(keys ? [knownHostsStep(knownHosts, keys)] : []),
  ]);
  return {
    output: o.output,
    sectors,
    bytes: sectors * SECTOR,
    hostname: o.metaData ? undefined : hostname,
    user: o.userData ? undefined : user,
    instanceId: o.metaData ? undefined : instanceId,
    privateKey: keys?.generatedKeyPath,
    generatedKey: keys?.newClientKey !== undefined,
    knownHosts: keys ? knownHosts : undefined,
    hostKeyAlias: keys ? `vmctl-${hostname}` : undefined,
  };
}

async function assertNotDirectory(path: string): Promise<void> {
  try {
    if ((await host.stat(path)).isDirectory) {
      throw new Diagnostic("vmctl::seed::output_is_directory", `${path} is a directory`, {
        hint: "give the path of the ISO file to write, e.g. seed.iso",
        exitCode: EXIT_USAGE,
      });
    }
  } catch (err) {
    if (!(isNotFound(err))) throw err;
  }
}

/** Human summary of a finished run. */
export function describeSeed(r: SeedCommandResult): string[] {
  const lines = [`wrote ${r.output} (${r.sectors} sectors, ${r.bytes} bytes, label cidata)`];
  if (r.privateKey) {
    lines.push(`${r.generatedKey ? "generated" : "reused"} SSH key pair: ${r.privateKey} (+ .pub)`);
  }
  if (r.knownHosts && r.hostKeyAlias) {
    lines.push(`guest host key recorded in ${r.knownHosts} as ${r.hostKeyAlias}`);
    const key = r.privateKey ? ` -i ${r.privateKey}` : "";
    lines.push(
      `connect with: ssh${key} -o HostKeyAlias=${r.hostKeyAlias} -o UserKnownHostsFile=${r.knownHosts}` +
        ` -o StrictHostKeyChecking=yes -p PORT ${r.user}@HOST`,
    );
  }
  return lines;
}
