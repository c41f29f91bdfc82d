/**
 * The one place that resolves paths: the data directory and its layout, the
 * directory the user invoked us from, and user-supplied paths (`~`, relative).
 *
 * @module
 */
// Not node:path: importing it boots the Node layer on every start-up (see lib/posix_path.ts).
import { isAbsolute, join, normalize, resolve, sep } from "./posix_path.ts";
import { Diagnostic } from "./diagnostics.ts";
import { validateVmName } from "./names.ts";
import { host } from "../host/mod.ts";

/** Where vmctl keeps its state. */
export interface DataPaths {
  /** `$XDG_DATA_HOME/vmctl` or `~/.local/share/vmctl`. */
  dataDir: string;
  /** The VM registry. */
  storeFile: string;
  /** Lock file guarding `storeFile`. */
  storeLock: string;
  /** Per-VM work directories live here. */
  vmsDir: string;
  /** The shared image cache. */
  imagesDir: string;
  /** Whether KVM worked at this boot (backends/qemu/host.ts), so the probe runs once per boot. */
  kvmProbeCache: string;
}

/**
 * Read an environment variable. A withheld --allow-env is NOT swallowed: it
 * surfaces as `vmctl::permission::denied` naming the flag, instead of a
 * misleading "not set".
 */
export function env(name: string): string | undefined {
  return host.env(name);
}

/** The user's home directory. */
export function homeDir(): string {
  const home = env("HOME");
  if (!home) {
    throw new Diagnostic("vmctl::paths::no_home", "HOME is not set", {
      hint: "set HOME, or XDG_DATA_HOME to choose where vmctl keeps its state",
    });
  }
  return home;
}

/** Resolve the data directory layout from the environment (or `getEnv`, for tests). */
export function dataPaths(getEnv: (name: string) => string | undefined = env): DataPaths {
  const xdg = getEnv("XDG_DATA_HOME");
  const home = () => getEnv("HOME") || homeDir();
  const base = xdg && isAbsolute(xdg) ? xdg : join(home(), ".local", "share");
  return pathsUnder(join(base, "vmctl"));
}

/** The files and directories of the data dir `dataDir`: each named here only. */
export function pathsUnder(dataDir: string): DataPaths {
  return {
    dataDir,
    storeFile: join(dataDir, "vms.json"),
    storeLock: join(dataDir, "vms.json.lock"),
    vmsDir: join(dataDir, "vms"),
    imagesDir: join(dataDir, "images"),
    kvmProbeCache: join(dataDir, "kvm-probe.json"),
  };
}

/** The work directory of VM `name`; the name is validated first. */
export function vmWorkDir(paths: DataPaths, name: string): string {
  validateVmName(name);
  const dir = join(paths.vmsDir, name);
  assertInside(paths.vmsDir, dir);
  return dir;
}

/** Throw unless `child` is strictly inside `parent` (after normalisation). */
export function assertInside(parent: string, child: string): void {
  const p = normalize(parent).replace(/\/+$/, "");
  const c = normalize(child);
  if (!c.startsWith(p + sep) || c.length <= p.length + 1) {
    throw new Diagnostic(
      "vmctl::paths::outside_data_dir",
      `refusing to touch ${c}: it is not inside ${p}`,
      { hint: "the VM record may have been edited by hand; check vms.json" },
    );
  }
}

/**
 * The directory the user ran vmctl from. `deno task` runs tasks in the
 * project directory and passes the caller's directory in INIT_CWD.
 */
export function invocationCwd(): string {
  return env("INIT_CWD") || host.cwd();
}

/** Expand `~` and resolve `p` against `baseDir` (the VMFile's directory or the cwd). */
export function resolveUserPath(p: string, baseDir: string = invocationCwd()): string {
  if (p === "~") return homeDir();
  if (p.startsWith("~/")) return join(homeDir(), p.slice(2));
  return isAbsolute(p) ? normalize(p) : resolve(baseDir, p);
}
