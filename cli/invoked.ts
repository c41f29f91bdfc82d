/**
 * Which command tree to run: `vmctl`, or `zmgr` (the zone commands at the
 * top level) when the program is invoked under that name.
 *
 * Start-up matters here: reading `process.argv0` boots Deno's Node layer
 * (most of `vmctl list`'s budget), so argv[0] is consulted only
 * where nothing else can tell: a compiled binary symlinked as `zmgr`. Under
 * `deno run`, argv[0] is `deno` unless a launcher used `exec -a`, which is
 * not supported; launchers pass `zone` as the first argument instead
 * (docs/zones.md).
 *
 * @module
 */
import { basename } from "../lib/posix_path.ts";
import { host } from "../host/mod.ts";

export type InvokedName = "vmctl" | "zmgr";

/** What the process knows about how it was started; argv0 is read only if needed. */
export interface Invocation {
  /** `host.mainModule`: the script as typed, symlink name kept. */
  mainModule: string;
  /** `host.execPath()`: the deno binary, or the compiled program. */
  execPath: string;
  /** `process.argv0`, read lazily: the name a compiled binary was run by. */
  argv0: () => string | undefined;
}

// Windows paths too: deno.exe on Windows, a compiled zmgr.exe.
const stem = (p: string) => basename(p.replaceAll("\\", "/")).replace(/\.(ts|m?js|exe)$/, "");

/** `zmgr` for a script or bundle named zmgr, or a compiled binary run as zmgr. */
export function invokedName(run: Invocation): InvokedName {
  if (stem(run.mainModule) === "zmgr") return "zmgr";
  if (stem(run.execPath) === "deno") return "vmctl";
  return stem(run.argv0() ?? "") === "zmgr" ? "zmgr" : "vmctl";
}

/** The invocation of this process. */
export function currentInvocation(): Invocation {
  return {
    mainModule: host.mainModule,
    execPath: host.execPath(),
    argv0: () => host.argv0(),
  };
}
