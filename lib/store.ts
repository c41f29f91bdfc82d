/**
 * The VM registry: `vms.json` under the data dir, a versioned document
 * `{ "version": 1, "vms": { NAME: VmRecord } }`.
 *
 * Every change runs under an exclusive lock on `vms.json.lock`, re-reads the
 * file, applies the change, writes a uniquely named temp file, fsyncs it and
 * renames it over `vms.json` (then fsyncs the directory). Readers take no lock:
 * a rename is atomic, so they see the old or the new document, never half of
 * one. Unknown fields (from newer versions) survive a rewrite; missing fields
 * get defaults. The upstream Rust vmctl's unversioned name->handle map is read
 * as version 1.
 *
 * @module
 */
import { DEFAULT_BRIDGE } from "./defaults.ts";
import { basename, dirname, join } from "./posix_path.ts";
import { Diagnostic, didYouMean } from "./diagnostics.ts";
import { TEMP_INFIX, withFileLock, writeAtomic } from "./files.ts";

/** The one atomic write, re-exported for lib/image/cache.ts, which imports it from here. */
export { writeAtomic };
import type { DataPaths } from "./paths.ts";
import type { BackendTag, NetworkConfig, VmOperation, VmRecord, VmState } from "./types.ts";
import { VM_STATES } from "./types.ts";
import { host, isNotFound } from "../host/mod.ts";

export type { VmOperation } from "./types.ts";

/** The document version this code writes. */
export const STORE_VERSION = 1;

/** The whole registry document. */
export interface StoreDoc {
  version: number;
  vms: Record<string, VmRecord>;
  [extra: string]: unknown;
}

/**
 * The fields of a record this version knows (VmRecord's keys). Any other
 * field was written by a newer vmctl: it rides along under {@link UNKNOWN}
 * (a symbol, so it is copied by `{ ...rec }` but invisible to the rest of the
 * code and to JSON.stringify) and is written back by {@link serializeStore}.
 */
const KNOWN_FIELDS = new Set<string>([
  "id",
  "saved_state",
  "name",
  "backend",
  "state",
  "state_reason",
  "work_dir",
  "image_path",
  "overlay_path",
  "seed_iso_path",
  "pid",
  "qmp_socket",
  "console_socket",
  "console_log",
  "vnc_addr",
  "vnc",
  "vcpus",
  "memory_mb",
  "disk_gb",
  "network",
  "uefi",
  "accel",
  "ssh_host_port",
  "forwards",
  "mounts",
  "mac_addr",
  "ssh_user",
  "ssh_port",
  "ssh_private_key",
  "known_hosts",
  "instance_id",
  "vmfile",
  "image_source",
  "efivars_path",
  "accel_in_use",
  "host_key_alias",
  "def_hash",
  "operation",
  "propolis",
  "created_at",
]);
const UNKNOWN = Symbol("fields of a newer vmctl");

const decoder = new TextDecoder();

/** An empty registry. */
export function emptyStore(): StoreDoc {
  return { version: STORE_VERSION, vms: {} };
}

/** Read the registry without locking; a missing file is an empty registry. */
export async function readStore(paths: DataPaths): Promise<StoreDoc> {
  let text: string;
  try {
    text = decoder.decode(await host.readFile(paths.storeFile));
  } catch (err) {
    if (isNotFound(err)) return emptyStore();
    throw err; // permission errors surface with the flag to add
  }
  return parseStore(text, paths);
}

/** Parse registry text; a syntax error points at the offending line and column. */
export function parseStore(text: string, paths: DataPaths): StoreDoc {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const { line, column } = jsonErrorPosition(text, err);
    throw new Diagnostic("vmctl::store::corrupt", `the VM registry is not valid JSON`, {
      span: { file: paths.storeFile, line, column, source: text },
      details: [err instanceof Error ? err.message : String(err)],
      hint: "fix the JSON at the position shown, or move the file aside to start an empty registry",
    });
  }
  if (!isObject(raw)) {
    throw new Diagnostic("vmctl::store::corrupt", "the VM registry is not a JSON object", {
      span: { file: paths.storeFile, line: 1, column: 1, source: text },
      hint: 'vms.json must hold an object like {"version": 1, "vms": {}}',
    });
  }
  // Upstream (Rust) vmctl stored a bare NAME -> handle map.
  const legacy = !("version" in raw) && !("vms" in raw);
  const doc: StoreDoc = legacy
    ? { version: STORE_VERSION, vms: {} }
    : { ...raw, version: typeof raw.version === "number" ? raw.version : STORE_VERSION, vms: {} };
  const vms = legacy ? raw : raw.vms;
  if (vms !== undefined && !isObject(vms)) {
    throw new Diagnostic("vmctl::store::corrupt", "`vms` in the VM registry is not an object", {
      span: { file: paths.storeFile, line: 1, column: 1, source: text },
      hint: 'vms.json must hold an object like {"version": 1, "vms": {}}',
    });
  }
  for (const [name, rec] of Object.entries(vms ?? {})) {
    if (isObject(rec)) doc.vms[name] = normalizeRecord(name, rec, paths);
  }
  return doc;
}

/** Fill defaults for fields an older writer did not know; keep every other field as is. */
export function normalizeRecord(
  name: string,
  raw: Record<string, unknown>,
  paths: DataPaths,
): VmRecord {
  const rec: Record<string | symbol, unknown> = {};
  const unknown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (KNOWN_FIELDS.has(k)) rec[k] = v;
    else unknown[k] = v;
  }
  if (Object.keys(unknown).length) rec[UNKNOWN] = unknown;
  const state = VM_STATES.includes(rec.state as VmState) ? rec.state as VmState : "stopped";
  return {
    ...rec,
    id: typeof rec.id === "string" ? rec.id : `unknown-${name}`,
    name,
    backend: (typeof rec.backend === "string" ? rec.backend : platformBackend()) as BackendTag,
    state,
    work_dir: typeof rec.work_dir === "string" ? rec.work_dir : join(paths.vmsDir, name),
    vcpus: typeof rec.vcpus === "number" ? rec.vcpus : 1,
    memory_mb: typeof rec.memory_mb === "number" ? rec.memory_mb : 1024,
    network: normalizeNetwork(rec.network),
    created_at: typeof rec.created_at === "string" ? rec.created_at : "",
  };
}

function normalizeNetwork(n: unknown): NetworkConfig {
  if (!isObject(n) || typeof n.type !== "string") return { type: "user" };
  // Upstream docs show capitalised tags ("User"); the stored form is lower case.
  const type = n.type.toLowerCase();
  if (type === "tap") {
    return { ...n, type, bridge: typeof n.bridge === "string" ? n.bridge : DEFAULT_BRIDGE };
  }
  if (type === "vnic") {
    const text = (k: string) => (typeof n[k] === "string" && n[k] ? { [k]: n[k] as string } : {});
    return { type, ...text("name"), ...text("link"), ...text("pool") };
  }
  return { ...n, type } as NetworkConfig;
}

/** The backend a record without a tag was made by: upstream chose it by platform. */
function platformBackend(): BackendTag {
  return host.os === "illumos" ? "propolis" : "qemu";
}

/**
 * Change the registry: take the exclusive lock, re-read, run `change` on the
 * fresh document, write it atomically. `change` may throw to abort (nothing is
 * written). Returns what `change` returned.
 */
export async function updateStore<T>(
  paths: DataPaths,
  change: (doc: StoreDoc) => T | Promise<T>,
): Promise<T> {
  await ensurePrivateDir(paths.dataDir);
  return await withFileLock(paths.storeLock, async () => {
    await removeStaleTemps(paths);
    const doc = await readStore(paths);
    const result = await change(doc);
    doc.version = Math.max(doc.version, STORE_VERSION);
    await writeAtomic(paths.storeFile, serializeStore(doc));
    return result;
  });
}

/** The registry as written: each record with the fields of newer versions it was read with. */
export function serializeStore(doc: StoreDoc): string {
  const vms: Record<string, unknown> = {};
  for (const [name, rec] of Object.entries(doc.vms)) {
    const unknown = (rec as { [UNKNOWN]?: Record<string, unknown> })[UNKNOWN];
    vms[name] = unknown ? { ...unknown, ...rec } : rec;
  }
  return JSON.stringify({ ...doc, vms }, null, 2) + "\n";
}

/**
 * Temp files of writers that died mid-write (kill -9). Writers hold the lock
 * while their temp file exists, so under the lock every one is stale.
 */
async function removeStaleTemps(paths: DataPaths): Promise<void> {
  const prefix = `${basename(paths.storeFile)}${TEMP_INFIX}`;
  for await (const e of host.readDir(paths.dataDir)) {
    if (e.isFile && e.name.startsWith(prefix)) {
      await host.remove(join(paths.dataDir, e.name)).catch(() => {});
    }
  }
}

/**
 * Create `dir` (and missing parents) with mode 0700 at creation, then verify
 * the mode: a umask can only remove bits, and a restrictive one (e.g. 0277)
 * would leave the owner without access, so it is corrected with chmod.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  // Parents (e.g. ~/.local/share) get the usual mode; only `dir` itself is private.
  await host.mkdir(dirname(dir), { recursive: true });
  await host.mkdir(dir, { recursive: true, mode: 0o700 });
  await fixMode(dir);
}

/** Create `dir` (its parent must exist) with mode 0700; fails if it exists. */
export async function createPrivateDir(dir: string): Promise<void> {
  await host.mkdir(dir, { mode: 0o700 });
  await fixMode(dir);
}

async function fixMode(dir: string): Promise<void> {
  if (host.os === "windows") return;
  const st = await host.stat(dir);
  if (st.mode !== null && (st.mode & 0o777) !== 0o700) await host.chmod(dir, 0o700);
}

/** The record of `name`, or a `vmctl::vm::not_found` diagnostic with a did-you-mean hint. */
export function requireRecord(doc: StoreDoc, name: string): VmRecord {
  const rec = doc.vms[name];
  if (rec) return rec;
  const known = Object.keys(doc.vms).sort();
  throw new Diagnostic("vmctl::vm::not_found", `no VM named '${name}'`, {
    hint: known.length
      ? `${didYouMean(name, known)} (\`vmctl list\` shows every VM)`
      : "there are no VMs yet; create one with `vmctl create` or `vmctl up`",
  });
}

/** The operation marker of `rec` if a live vmctl process holds it; stale markers are ignored. */
export function busyHolder(
  rec: VmRecord,
  pidAlive: (pid: number) => boolean,
): VmOperation | undefined {
  const op = rec.operation;
  if (!isObject(op) || typeof op.pid !== "number") return undefined;
  if (op.pid === host.pid) return op;
  return pidAlive(op.pid) ? op : undefined;
}

/**
 * Where JSON.parse gave up. V8 names the position for most errors; for
 * "Unexpected token" it does not, so find the shortest prefix that is not a
 * valid JSON prefix (binary search: a prefix of a valid prefix is valid).
 */
function jsonErrorPosition(text: string, err: unknown): { line: number; column: number } {
  const lc = String((err as Error)?.message).match(/line (\d+) column (\d+)/);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const validPrefix = (k: number) => {
    const prefix = text.slice(0, k);
    try {
      JSON.parse(prefix);
      return true;
    } catch (e) {
      const msg = e instanceof Error ? e.message : "";
      const pos = msg.match(/at position (\d+)/);
      return /end of JSON input/i.test(msg) || (pos !== null && Number(pos[1]) >= k);
    }
  };
  let lo = 0; // validPrefix(lo) holds
  let hi = text.length; // validPrefix(hi) fails (the whole text failed)
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (validPrefix(mid)) lo = mid;
    else hi = mid;
  }
  const before = text.slice(0, hi).split("\n");
  return { line: before.length, column: Math.max(1, before[before.length - 1].length) };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
