/**
 * How vmctl talks to the system OpenSSH client: the connection target and
 * the argv that reaches it, and the quoting of words for the remote shell.
 * Pure functions; nothing here spawns a process.
 *
 * The remote side of `ssh host WORDS...` is a shell: ssh joins its words with
 * spaces and the login shell parses the result. Every value vmctl puts into a
 * remote command goes through {@link shQuote}.
 *
 * @module
 */

/**
 * How the server's host key is checked.
 * - `strict`: the key must already be in the VM's known_hosts (vmctl injected it through cloud-init).
 * - `tofu`: trust on first use, recorded in the VM's known_hosts (raw user-data VMs); later
 *   connections are strict against what was recorded.
 */
export type HostKeyPolicy = "strict" | "tofu";

/** Everything needed to open an SSH connection to one VM. */
export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** Private key file (never an agent key: IdentitiesOnly=yes). */
  keyPath: string;
  /** The VM's own known_hosts file. Never /dev/null. */
  knownHostsPath: string;
  /** Name the host key is recorded under (`vmctl-<vm>`), independent of 127.0.0.1:port. */
  hostKeyAlias: string;
  hostKeyPolicy: HostKeyPolicy;
  /**
   * Connection-sharing socket (in the VM's 0700 work dir), one per identity
   * (user, key, host-key alias: see {@link controlPathFor}), so a connection
   * logged in as one user is never reused for another. The first login
   * becomes a master that later commands of the same identity reuse for
   * MASTER_PERSIST_S after the last use: each provisioning step or `vmctl
   * ssh` then skips a full handshake. Stopping or destroying the VM closes
   * every master. Absent: every command makes its own connection.
   */
  controlPath?: string;
}

/** How long an idle connection-sharing master stays (seconds). */
export const MASTER_PERSIST_S = 60;
/** Longest control socket path we use (sun_path is 104-108 bytes; ssh adds a temp suffix). */
export const MAX_CONTROL_PATH = 80;

/** Control sockets are named `ssh-<identity hash>.mux`; this finds them in a work dir. */
export const CONTROL_SOCKET_NAME = /^ssh-[0-9a-f]{16}\.mux$/;

/** Who a shared connection is logged in as: only the same identity may reuse it. */
export type SshIdentity = Pick<SshTarget, "user" | "keyPath" | "hostKeyAlias">;

/**
 * The control socket for `id` in `dir`: a hash of the identity keeps the
 * path short (unix socket paths are limited) whatever the user and key path.
 * Undefined when `dir` itself is too long: connections are then not shared.
 */
export async function controlPathFor(dir: string, id: SshIdentity): Promise<string | undefined> {
  const text = JSON.stringify([id.user, id.keyPath, id.hostKeyAlias]);
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  const hex = Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
  const path = `${dir.replace(/\/+$/, "")}/ssh-${hex}.mux`;
  return path.length <= MAX_CONTROL_PATH ? path : undefined;
}

export interface SshArgOptions {
  /** Non-interactive: no password/passphrase prompts (BatchMode=yes). Default true. */
  batch?: boolean;
  /** Allocate a terminal (`-t`) for an interactive session. */
  tty?: boolean;
  /** Seconds to wait for the TCP connection and the SSH handshake (default 10). */
  connectTimeoutS?: number;
  /** ssh binary (default "ssh"). */
  ssh?: string;
}

/**
 * Quote one word for a POSIX shell: wrapped in single quotes, with each `'`
 * written as `'\''`. Safe for every byte sequence, including newlines, `$`,
 * backquotes, leading dashes (callers still pass `--` to commands), and "".
 */
export function shQuote(word: string): string {
  if (word.includes("\0")) throw new Error("shQuote: NUL byte cannot be passed to a shell");
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Quote each word and join with spaces: a remote command line with argv semantics. */
export function shJoin(words: readonly string[]): string {
  return words.map(shQuote).join(" ");
}

/**
 * The ssh argv up to and including the destination; append the remote
 * command (one already-quoted string) or nothing for a login shell.
 * User config files are not read (`-F none`), so a `Host *` rule in
 * ~/.ssh/config cannot redirect or weaken the connection.
 */
export function sshArgv(t: SshTarget, o: SshArgOptions = {}): string[] {
  const batch = o.batch ?? true;
  const argv = [
    o.ssh ?? "ssh",
    "-F",
    "none",
    "-p",
    String(t.port),
    "-i",
    t.keyPath,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `IdentityAgent=none`,
    "-o",
    `UserKnownHostsFile=${t.knownHostsPath}`,
    "-o",
    `HostKeyAlias=${t.hostKeyAlias}`,
    "-o",
    `StrictHostKeyChecking=${t.hostKeyPolicy === "strict" ? "yes" : "accept-new"}`,
    "-o",
    "CheckHostIP=no",
    "-o",
    "UpdateHostKeys=no",
    "-o",
    "PasswordAuthentication=no",
    "-o",
    "KbdInteractiveAuthentication=no",
    "-o",
    `ConnectTimeout=${o.connectTimeoutS ?? 10}`,
    "-o",
    "ServerAliveInterval=15",
    "-o",
    "ServerAliveCountMax=4",
    "-o",
    "LogLevel=ERROR",
  ];
  if (batch) argv.push("-o", "BatchMode=yes");
  if (t.controlPath) {
    argv.push(
      "-o",
      "ControlMaster=auto",
      "-o",
      `ControlPath=${t.controlPath}`,
      "-o",
      `ControlPersist=${MASTER_PERSIST_S}`,
    );
  }
  argv.push(o.tty ? "-t" : "-T");
  // The user cannot start with "-" (validated) and "--" ends ssh's options either way.
  argv.push("-l", t.user, "--", t.host);
  return argv;
}

/**
 * Remote command that writes stdin to `dest` and gives it `mode`. The file is
 * created with umask 077 so it is never readable by others before the chmod;
 * `--` protects destinations that start with "-". A relative destination is
 * relative to the login directory, as with SFTP.
 */
export function uploadCommand(dest: string, mode: number): string {
  const q = shQuote(dest);
  const m = (mode & 0o7777).toString(8).padStart(4, "0");
  return `umask 077 && cat > ${q} && chmod ${m} -- ${q}`;
}

/**
 * Remote command that stores stdin as a fresh script and runs it: `mktemp`
 * creates an unpredictable file exclusively (0600; a file or symlink planted
 * in /tmp cannot be reused), it becomes 0700, runs, and is removed whatever
 * its outcome; the command exits with the script's code. `dir` is quoted.
 */
export function runScriptCommand(dir = "/tmp"): string {
  const template = shQuote(`${dir.replace(/\/+$/, "")}/vmctl-provision-XXXXXXXXXX`);
  return `f=$(mktemp ${template}) && cat > "$f" && chmod 0700 "$f" && ` +
    `{ "$f"; rc=$?; rm -f "$f"; exit $rc; }`;
}

/** argv asking the connection-sharing master listening on `controlPath` to exit. */
export function closeMasterArgv(controlPath: string): string[] {
  // The destination is not contacted: `-O exit` only talks to the socket.
  return ["ssh", "-F", "none", "-o", `ControlPath=${controlPath}`, "-O", "exit", "--", "vmctl"];
}

/** Render an ssh argv for logs and --dry-run (never given to a shell). */
export function describeTarget(t: SshTarget): string {
  return `${t.user}@${t.host}:${t.port}`;
}
