/**
 * What `up`, `down`, `reload` and `provision` share: loading the VMFile,
 * turning a definition into a create request, the definition hash that tells
 * `up` a VM was created from an older definition, and bringing one VM up.
 *
 * @module
 */
import {
  DEFAULT_SSH_USER,
  PROVISION_READY_TIMEOUT_MS,
  requestedAccel,
} from "../../lib/defaults.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { isFile } from "../../lib/files.ts";
import { log } from "../../lib/log.ts";
import type { VmRecord } from "../../lib/types.ts";
import { discoverVmFile, loadVmFile, requireLocalFiles, selectVms } from "../../lib/vmfile/mod.ts";
import type { VmDef, VmFile } from "../../lib/vmfile/types.ts";
import { defaultBackendTag } from "../../backends/router.ts";
import { formatDuration, type OpsContext, timed, timeoutOption } from "../common.ts";
import { readStore } from "../../lib/store.ts";
import { refreshRecords } from "../vm/view.ts";
import { type CreateRequest, createVm } from "../vm/create_flow.ts";
import { transition } from "../vm/transitions.ts";
import { keptAfterFailedStart } from "../vm/create.ts";

/** `--file` / `--name` as given. */
export interface TargetOptions {
  file?: string;
  name?: string;
}

/**
 * Discover and load the VMFile, then pick the VMs `--name` selects (file
 * order). Local files are not checked here: each stage checks the files it
 * is about to use (a missing file of another VM never blocks a command).
 */
export async function loadTargets(o: TargetOptions): Promise<{ file: VmFile; defs: VmDef[] }> {
  const file = await loadVmFile(discoverVmFile(o.file), { checkFiles: false });
  return { file, defs: selectVms(file, o.name) };
}

/**
 * A hash of the parts of a definition that shape the machine (image,
 * resources, network, firmware, cloud-init, ssh). Provisioners and source
 * positions are left out: editing them needs `vmctl provision`, not a new VM.
 */
export async function defHash(def: VmDef): Promise<string> {
  const shape = {
    image: def.image,
    vcpus: def.vcpus,
    memoryMb: def.memoryMb,
    diskGb: def.diskGb ?? null,
    network: def.network,
    uefi: def.uefi,
    accel: def.accel ?? null,
    vnc: def.vnc,
    cloudInit: def.cloudInit ?? null,
    ssh: def.ssh ?? null,
  };
  const bytes = new TextEncoder().encode(canonicalJson(shape));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The create request for a VMFile definition (new VMs use the default backend). */
export async function requestFromDef(def: VmDef, file: VmFile): Promise<CreateRequest> {
  const accel = requestedAccel(def.accel);
  return {
    name: def.name,
    backend: defaultBackendTag(),
    image: def.image,
    vcpus: def.vcpus,
    memoryMb: def.memoryMb,
    diskGb: def.diskGb,
    network: def.network,
    uefi: def.uefi,
    accel,
    vnc: def.vnc,
    cloudInit: def.cloudInit ? { hostname: def.name, ...def.cloudInit } : undefined,
    sshUser: def.ssh?.user ?? DEFAULT_SSH_USER,
    sshPrivateKey: def.ssh?.privateKeyPath,
    vmfile: file.path,
    defHash: await defHash(def),
  };
}

/**
 * Why a stored VM does not match this VMFile definition, if it does not:
 * made by another VMFile or imperatively, or from an older definition.
 */
export async function mismatch(
  rec: VmRecord,
  def: VmDef,
  file: VmFile,
): Promise<string | undefined> {
  if (rec.vmfile !== file.path) {
    return rec.vmfile
      ? `it was created from another VMFile (${rec.vmfile})`
      : "it was created with `vmctl create`, not from this VMFile";
  }
  if (rec.def_hash && rec.def_hash !== await defHash(def)) {
    return `its definition changed since it was created; run \`vmctl reload --name ${def.name}\` to recreate it`;
  }
  return undefined;
}

/**
 * Refuse to destroy a VM this VMFile did not create (a name clash with
 * another project), unless `adopt` (`--adopt`): then the VM is taken over
 * with a warning. The refusal names the way on: a project that moved (its
 * recorded VMFile is gone) is adopted with `--adopt`.
 */
export function refuseForeign(rec: VmRecord, file: VmFile, action: string, adopt = false): void {
  if (rec.vmfile === file.path) return;
  const origin = rec.vmfile ?? "`vmctl create`";
  if (adopt) {
    log.warn(`VM '${rec.name}' was created from ${origin}; adopting it for ${file.path} (--adopt)`);
    return;
  }
  const moved = rec.vmfile != null && !isFile(rec.vmfile);
  throw new Diagnostic(
    "vmctl::vmfile::foreign_vm",
    `VM '${rec.name}' was not created from ${file.path}, so \`${action}\` leaves it alone`,
    {
      hint: moved
        ? `it was created from ${rec.vmfile}, which no longer exists (a moved or renamed project?): \`${action} --adopt\` takes it over`
        : rec.vmfile
        ? `it belongs to ${rec.vmfile}; run \`${action}\` there, or take it over with \`${action} --adopt\``
        : `it was made with \`vmctl create\`; take it over with \`${action} --adopt\`, or remove it with \`vmctl destroy ${rec.name}\``,
    },
  );
}

/** Options of the provisioning stage of `up` / `reload`. */
export interface ProvisionStage {
  /** `--no-provision`. */
  skip: boolean;
  /** SSH readiness budget. */
  timeoutMs: number;
  /** Prefix provisioner output with the VM name (several VMs in one run). */
  prefixOutput: boolean;
}

/** Run the provisioners of `def` on the running `rec` (or say why not), timing it. */
export async function provisionStage(
  ctx: OpsContext,
  rec: VmRecord,
  def: VmDef,
  file: VmFile,
  stage: ProvisionStage,
): Promise<void> {
  const n = def.provision.length;
  if (n === 0) return;
  if (stage.skip) {
    ctx.say(`    provisioning skipped (--no-provision): ${n} step(s) not run`);
    return;
  }
  if (rec.backend === "noop") {
    log.warn(
      `VM '${def.name}': ${n} provisioning step(s) skipped because the noop backend runs no guest`,
    );
    return;
  }
  requireSshBlock(def);
  requireLocalFiles(file, def.name, ["provision"]);
  const { provisionVm } = await import("../../backends/provision.ts");
  const [, ms] = await timed(() =>
    provisionVm(rec, def, { ctx, timeoutMs: stage.timeoutMs, prefixOutput: stage.prefixOutput })
  );
  ctx.say(`    provisioned (${n} step(s)) in ${formatDuration(ms)}`);
}

/** Provisioners connect over SSH, so they need the definition's `ssh` block. */
export function requireSshBlock(def: VmDef): void {
  if (def.ssh) return;
  throw new Diagnostic(
    "vmctl::provision::no_ssh",
    `VM '${def.name}' has provisioners but no \`ssh\` block, so vmctl cannot connect to run them`,
    {
      hint: 'add `ssh { user "vm" }` (and a cloud-init block so the user and key exist)',
      span: def.span,
    },
  );
}

/** Create, start and provision `def` (the VM must not exist), printing each stage's time. */
export async function createAndStart(
  ctx: OpsContext,
  def: VmDef,
  file: VmFile,
  stage: ProvisionStage,
): Promise<VmRecord> {
  // Check the provisioners' sources too before anything boots: a run stops before it starts.
  requireLocalFiles(file, def.name, stage.skip ? ["create"] : ["create", "provision"]);
  const req = await requestFromDef(def, file);
  const [created, tc] = await timed(() => createVm(ctx, req));
  ctx.say(`    created (${created.backend}, id ${created.id}) in ${formatDuration(tc)}`);
  const [running, ts] = await timed(() =>
    transition(ctx, def.name, "start").catch((err) => {
      throw keptAfterFailedStart(def.name, err);
    })
  );
  ctx.say(`    started in ${formatDuration(ts)}`);
  await provisionStage(ctx, running, def, file, stage);
  return running;
}

/** The stored record of `name` with its live state, or undefined when there is none. */
export async function liveRecord(ctx: OpsContext, name: string): Promise<VmRecord | undefined> {
  const doc = await readStore(ctx.paths);
  const rec = doc.vms[name];
  if (!rec) return undefined;
  const [live] = await refreshRecords(ctx, { ...doc, vms: { [name]: rec } });
  return live;
}

/** Parse the SSH readiness budget (`--timeout`, seconds; default PROVISION_READY_TIMEOUT_MS). */
export function sshBudget(value: string | undefined): number {
  return timeoutOption(value) ?? PROVISION_READY_TIMEOUT_MS;
}
