/**
 * Which user, key and host-key policy vmctl uses for a VM, exactly in the
 * book's order:
 * - user: `--user`, the VMFile `ssh` block's `user`, the user recorded at create time, "vm";
 * - key: the key vmctl generated in the VM's work dir, `--key` / VMFile `private-key`
 *   (and the one recorded at create time), then ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
 *
 * @module
 */
import { join } from "../../lib/posix_path.ts";
import { DEFAULT_SSH_USER } from "../../lib/defaults.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { isFile } from "../../lib/files.ts";
import { homeDir, resolveUserPath } from "../../lib/paths.ts";
import { requireName, USER_NAME_RULE } from "../../lib/names.ts";
import type { VmRecord } from "../../lib/types.ts";
import { VM_FILES } from "../../lib/vm_files.ts";
import type { HostKeyPolicy } from "./args.ts";
import { host, isNotFound } from "../../host/mod.ts";

/** File name of the key pair vmctl generates in a VM's work dir. */
export const GENERATED_KEY = VM_FILES.generatedKey;
/** File name of the VM's own known_hosts in its work dir. */
export const KNOWN_HOSTS = VM_FILES.knownHosts;
const HOME_KEYS = ["id_ed25519", "id_ecdsa", "id_rsa"];

/** Where a resolved key came from (shown in messages). */
export type KeySource = "generated" | "--key" | "VMFile private-key" | "recorded" | "~/.ssh";

export interface KeyChoice {
  path: string;
  source: KeySource;
}

/** The SSH user for `vm`: the first of `--user`, VMFile user, recorded user, "vm". */
export function resolveSshUser(
  vm: Pick<VmRecord, "ssh_user">,
  o: { cliUser?: string; vmfileUser?: string } = {},
): string {
  const user = o.cliUser ?? o.vmfileUser ?? vm.ssh_user ?? DEFAULT_SSH_USER;
  // A user name reaches ssh's argv and the remote login: the one user-name rule applies.
  return requireName(USER_NAME_RULE, user, "vmctl::ssh::invalid_user", "SSH user name");
}

/**
 * The private key for `vm`. An explicitly named key (`--key`, `private-key`)
 * that does not exist is an error, not a silent fall-through.
 */
export function resolveSshKey(
  vm: Pick<VmRecord, "work_dir" | "ssh_private_key">,
  o: { cliKey?: string; vmfileKey?: string; home?: string } = {},
): KeyChoice {
  const generated = join(vm.work_dir, GENERATED_KEY);
  if (isFile(generated)) return { path: generated, source: "generated" };
  const explicit: [string | undefined, KeySource][] = [
    [o.cliKey, "--key"],
    [o.vmfileKey, "VMFile private-key"],
  ];
  for (const [given, source] of explicit) {
    if (given === undefined) continue;
    const path = resolveUserPath(given);
    if (!isFile(path)) {
      throw new Diagnostic("vmctl::ssh::key_not_found", `SSH private key not found: ${path}`, {
        hint: `check the ${source} path; it names the PRIVATE key (not the .pub file)`,
      });
    }
    return { path, source };
  }
  if (vm.ssh_private_key && isFile(vm.ssh_private_key)) {
    return { path: vm.ssh_private_key, source: "recorded" };
  }
  const home = o.home ?? homeDir();
  for (const name of HOME_KEYS) {
    const path = join(home, ".ssh", name);
    if (isFile(path)) return { path, source: "~/.ssh" };
  }
  throw new Diagnostic("vmctl::ssh::no_key", "no SSH private key found for this VM", {
    hint: `vmctl looked for ${generated}, --key / the VMFile's ssh private-key, and ~/.ssh/{${
      HOME_KEYS.join(",")
    }}; pass --key PATH`,
  });
}

/**
 * The VM's known_hosts file and how to use it: strict when vmctl injected the
 * host key (the file holds an entry for the alias), trust-on-first-use
 * recorded in the same file otherwise (raw user-data: vmctl never saw the key).
 */
export function hostKeyPolicy(
  vm: Pick<VmRecord, "work_dir" | "known_hosts" | "name">,
): { knownHostsPath: string; hostKeyAlias: string; policy: HostKeyPolicy } {
  const knownHostsPath = vm.known_hosts ?? join(vm.work_dir, KNOWN_HOSTS);
  const hostKeyAlias = `vmctl-${vm.name}`;
  const injected = vm.known_hosts != null && hasEntryFor(knownHostsPath, hostKeyAlias);
  return { knownHostsPath, hostKeyAlias, policy: injected ? "strict" : "tofu" };
}

/** True when `file` has a known_hosts line for `alias` (plain, not hashed: we wrote it). */
export function hasEntryFor(file: string, alias: string): boolean {
  let text: string;
  try {
    text = host.readTextFileSync(file);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  return text.split("\n").some((line) => {
    const hosts = line.trim().split(/\s+/)[0] ?? "";
    return hosts.split(",").includes(alias);
  });
}
