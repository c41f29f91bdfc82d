/**
 * What kind of failure an error from the host is, the same on both runtimes:
 * Deno names its errors (`NotFound`), Node gives errno codes (`ENOENT`).
 *
 * @module
 */

const NAMES_BY_CODE: Record<string, string> = {
  ENOENT: "NotFound",
  ESRCH: "NotFound",
  EEXIST: "AlreadyExists",
  EPIPE: "BrokenPipe",
  ECONNREFUSED: "ConnectionRefused",
  ECONNRESET: "ConnectionReset",
  EISDIR: "IsADirectory",
  ENOTDIR: "NotADirectory",
  ETIMEDOUT: "TimedOut",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  ERR_ACCESS_DENIED: "NotCapable",
};

/** The Deno error name of `err` ("NotFound", "AlreadyExists", ...), whichever runtime raised it. */
export function errorKind(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && code in NAMES_BY_CODE) return NAMES_BY_CODE[code];
  return err.name;
}

/** No such file, directory or process. */
export function isNotFound(err: unknown): boolean {
  return errorKind(err) === "NotFound";
}

export function isAlreadyExists(err: unknown): boolean {
  return errorKind(err) === "AlreadyExists";
}

/** The runtime's permission model (Deno flags, Node --permission) or the OS refused access. */
export function isPermissionRefused(err: unknown): boolean {
  const kind = errorKind(err);
  return kind === "NotCapable" || kind === "PermissionDenied";
}

/** The runtime's permission model refused: a flag is missing, not an OS permission. */
export function isRuntimeRefusal(err: unknown): boolean {
  return errorKind(err) === "NotCapable";
}
