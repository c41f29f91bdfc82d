/**
 * Running commands on a guest and copying files to it with the system ssh
 * client. No SFTP subsystem is needed: an upload is `cat > DEST` on the
 * remote side with DEST quoted for the remote shell.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { execCommand, execStreaming, type StreamOptions, type StreamResult } from "../exec.ts";
import {
  closeMasterArgv,
  CONTROL_SOCKET_NAME,
  sshArgv,
  type SshTarget,
  uploadCommand,
} from "./args.ts";
import { join } from "../../lib/posix_path.ts";
import { host } from "../../host/mod.ts";
import type { FileInfo } from "../../host/mod.ts";

/** Exit status ssh uses for its own failures (connection, authentication, host key). */
export const SSH_ERROR_EXIT = 255;

/** Run ssh to completion and collect its output (readiness probes, short commands). */
export async function runSsh(
  argv: string[],
  o: { timeoutMs: number; stdin?: string | Uint8Array },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return await execCommand(argv, { timeoutMs: o.timeoutMs, stdin: o.stdin, check: false });
}

/** Run `remoteCommand` on the guest, streaming its output live; resolves with the exit status (255 can also mean ssh itself failed). */
export async function streamSsh(
  t: SshTarget,
  remoteCommand: string,
  o: StreamOptions = {},
): Promise<StreamResult> {
  return await execStreaming([...sshArgv(t), remoteCommand], o);
}

/** Options for {@link sshUpload}. */
export interface UploadOptions {
  /** Mode for the remote file; default: the local file's mode (not forced to 0755). */
  mode?: number;
  timeoutMs?: number;
}

/**
 * Copy the regular file `localPath` to `dest` on the guest, keeping its mode.
 * Throws `vmctl::ssh::upload_failed` with ssh's or the shell's message.
 */
export async function sshUpload(
  t: SshTarget,
  localPath: string,
  dest: string,
  o: UploadOptions = {},
): Promise<void> {
  let st: FileInfo;
  try {
    st = await host.stat(localPath);
  } catch (err) {
    throw new Diagnostic("vmctl::ssh::upload_source_missing", `cannot read ${localPath}`, {
      hint: "the file to upload must exist on this machine",
      cause: err,
    });
  }
  if (!st.isFile) {
    throw new Diagnostic(
      "vmctl::ssh::upload_not_a_file",
      `${localPath} is not a regular file`,
      { hint: "file uploads copy one regular file; pack a directory first (tar) and upload that" },
    );
  }
  const mode = o.mode ?? (st.mode ?? 0o644) & 0o7777;
  const r = await streamSsh(t, uploadCommand(dest, mode), {
    stdin: { file: localPath },
    timeoutMs: o.timeoutMs,
  });
  if (r.code !== 0) {
    throw new Diagnostic(
      "vmctl::ssh::upload_failed",
      `uploading ${localPath} to ${dest} on ${t.hostKeyAlias} failed (exit code ${r.code})`,
      {
        hint: r.code === SSH_ERROR_EXIT
          ? "ssh could not connect or authenticate; see the message below"
          : "the guest refused the write: check that the destination directory exists and that the SSH user may write there",
        details: r.stderrTail.trimEnd().split("\n").slice(-10),
      },
    );
  }
}

/** Stop `t`'s connection-sharing master, if one runs. Never throws. */
export async function closeMaster(t: SshTarget): Promise<void> {
  if (t.controlPath) await closeSocket(t.controlPath);
}

/**
 * Stop every connection-sharing master of the VM whose work dir is `dir`
 * (all users and keys) and remove their sockets: `vmctl stop`, `down`,
 * `destroy`. Never throws.
 */
export async function closeAllMasters(dir: string): Promise<void> {
  const names: string[] = [];
  try {
    for await (const e of host.readDir(dir)) {
      if (CONTROL_SOCKET_NAME.test(e.name)) names.push(e.name);
    }
  } catch {
    return; // no work dir: nothing was shared
  }
  await Promise.all(names.map((n) => closeSocket(join(dir, n))));
}

async function closeSocket(controlPath: string): Promise<void> {
  await execCommand(closeMasterArgv(controlPath), { timeoutMs: 5000, check: false })
    .catch(() => {});
  await host.remove(controlPath).catch(() => {});
}
