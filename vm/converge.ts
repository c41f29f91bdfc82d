/**
 * Converge: what `up`, `down`, `reload` and `provision` decide for each VM of
 * the VMFile, as courses of plans (vm/course.ts). Each VM's backend is
 * resolved once, from its record (or the default for a new VM).
 *
 * `up`, in file order, to running:
 *
 *   absent                     -> create, start, provision
 *   stopped with a saved state -> start from it (not re-provisioned; --fresh: discard, boot)
 *   prepared, stopped, failed  -> start, provision
 *   suspended                  -> resume (not re-provisioned: the guest kept its state)
 *   running                    -> skip
 *
 * A VM created from an older definition (or by something else) is reported,
 * not silently reused. `down` stops (or destroys) only what this VMFile made;
 * `reload` destroys and recreates with a new cloud-init instance-id;
 * `provision` re-runs the provisioners of running VMs.
 *
 * @module
 */
import { DEFAULT_SSH_USER, requestedAccel } from "../lib/defaults.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import { isFile } from "../lib/files.ts";
import { log } from "../lib/log.ts";
import { plan } from "../lib/plan.ts";
import { readStore } from "../lib/store.ts";
import type { VmConfig, VmRecord } from "../lib/types.ts";
import {
  discoverVmFile,
  loadVmFile,
  machineOf,
  requireLocalFiles,
  selectVms,
} from "../lib/vmfile/mod.ts";
import type { VmDef, VmFile } from "../lib/vmfile/types.ts";
import type { Hypervisor } from "../backends/hypervisor.ts";
import { taskStep } from "../backends/apply.ts";
import { provisionVm, stepLabel } from "../backends/provision.ts";
import { backendFor, defaultBackendTag } from "../backends/router.ts";
import type { VmContext } from "./context.ts";
import { type Course, planStage, type Stage } from "./course.ts";
import { createPlan, createStage, startStage } from "./create.ts";
import { destroyPlan, savedStateMode, transitionPlan } from "./lifecycle.ts";
import { liveRecord } from "./reconcile.ts";

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

/** A hash of the machine a definition declares ({@link machineOf}): a changed one needs `reload`. */
export async function defHash(def: VmDef): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(machineOf(def)));
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

/** The config of a VMFile definition (new VMs use the default backend). */
export async function requestFromDef(def: VmDef, file: VmFile): Promise<VmConfig> {
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
    forwards: def.forwards,
    mounts: def.mounts,
    cloudInit: def.cloudInit ? { hostname: def.name, ...def.cloudInit } : undefined,
    sshUser: def.ssh?.user ?? DEFAULT_SSH_USER,
    ...(def.ssh?.port ? { sshPort: def.ssh.port } : {}),
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

/** What the command line says about provisioning (`--no-provision`, `--timeout`). */
export type StageOptions = Omit<ProvisionStage, "prefixOutput">;

/** Options of the provisioning stage of `up` / `reload`. */
export interface ProvisionStage {
  /** `--no-provision`. */
  skip: boolean;
  /** SSH readiness budget. */
  timeoutMs: number;
  /** Prefix provisioner output with the VM name (several VMs in one run). */
  prefixOutput: boolean;
}

/** The provisioning stage of `def` (or the line saying why it does not run). */
export function provisionStage(
  ctx: VmContext,
  backend: Hypervisor,
  def: VmDef,
  file: VmFile,
  stage: ProvisionStage,
): Stage[] {
  const n = def.provision.length;
  if (n === 0) return mountsReadyStage(ctx, backend, def, stage);
  if (stage.skip) {
    return [{ note: `    provisioning skipped (--no-provision): ${n} step(s) not run` }];
  }
  if (backend.tag === "noop") {
    return [{
      warn:
        `VM '${def.name}': ${n} provisioning step(s) skipped because the noop backend runs no guest`,
    }];
  }
  requireSshBlock(def);
  requireLocalFiles(file, def.name, ["provision"]);
  return [planStage(
    ctx,
    provisionPlan(ctx, backend, def, stage),
    (_, took) => `    provisioned (${n} step(s)) in ${took}`,
  )];
}

/**
 * A VM with shared folders but no provisioners: `up` still waits for SSH,
 * which the guest starts after its bootcmd mounted the folders, so they are
 * there when `up` returns.
 */
function mountsReadyStage(
  ctx: VmContext,
  backend: Hypervisor,
  def: VmDef,
  stage: ProvisionStage,
): Stage[] {
  if (def.mounts.length === 0 || stage.skip || backend.tag === "noop") return [];
  return [planStage(
    ctx,
    provisionPlan(ctx, backend, def, stage),
    (_, took) => `    SSH answers, shared folders mounted, after ${took}`,
  )];
}

/** Wait for SSH, then run the provisioners of `def` in order on the VM as stored when it runs. */
function provisionPlan(ctx: VmContext, backend: Hypervisor, def: VmDef, stage: ProvisionStage) {
  const detail = [
    `wait for SSH as user '${def.ssh?.user ?? DEFAULT_SSH_USER}' (up to ${
      stage.timeoutMs / 1000
    } s)`,
    ...def.provision.map((p, i) => `[${i + 1}/${def.provision.length}] ${stepLabel(p)}`),
  ].join("\n");
  return plan(`provision VM '${def.name}'`, [
    taskStep(
      def.provision.length
        ? `run the provisioners of VM '${def.name}' over SSH`
        : `wait for SSH on VM '${def.name}' (its shared folders are mounted by then)`,
      detail,
      async () => {
        const rec = (await readStore(ctx.paths)).vms[def.name];
        await provisionVm(rec, def, {
          ctx,
          backend,
          timeoutMs: stage.timeoutMs,
          prefixOutput: stage.prefixOutput,
        });
      },
    ),
  ]);
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

/** A VMFile's VMs with their backends resolved once and their live records. */
interface Target {
  def: VmDef;
  backend: Hypervisor;
  rec: VmRecord | undefined;
}

/** Load the VMFile, pick the VMs, resolve each one's backend and read its live state. */
async function targets(ctx: VmContext, o: TargetOptions): Promise<{ file: VmFile; vms: Target[] }> {
  const { file, defs } = await loadTargets(o);
  const doc = await readStore(ctx.paths);
  const vms: Target[] = [];
  for (const def of defs) {
    const backend = await backendFor(doc.vms[def.name]?.backend ?? defaultBackendTag());
    vms.push({ def, backend, rec: await liveRecord(ctx, backend, def.name) });
  }
  return { file, vms };
}

/**
 * The targets of a command that provisions (`up`, `reload`), with its stage
 * options; refuses, before anything boots, a definition whose provisioners
 * could not connect.
 */
async function provisionedTargets(
  ctx: VmContext,
  o: TargetOptions,
  provision: StageOptions,
): Promise<{ file: VmFile; vms: Target[]; stage: ProvisionStage }> {
  const { file, vms } = await targets(ctx, o);
  const stage = { ...provision, prefixOutput: vms.length > 1 };
  if (!stage.skip) { for (const { def } of vms) if (def.provision.length) requireSshBlock(def); }
  return { file, vms, stage };
}

/** Create, start and provision `def` (the VM must not exist), timing each stage. */
async function createAndStart(
  ctx: VmContext,
  t: Target,
  file: VmFile,
  stage: ProvisionStage,
  opts: { replacing?: boolean } = {},
): Promise<Stage[]> {
  const name = t.def.name;
  // The provisioners' sources are checked too before anything boots: a run stops before it starts.
  requireLocalFiles(file, name, stage.skip ? ["create"] : ["create", "provision"]);
  const p = await createPlan(ctx, t.backend, await requestFromDef(t.def, file), opts);
  return [
    createStage(
      ctx,
      p,
      name,
      (rec, took) => `    created (${rec!.backend}, id ${rec!.id}) in ${took}`,
    ),
    startStage(ctx, t.backend, name, (_, took) => `    started in ${took}`),
    ...provisionStage(ctx, t.backend, t.def, file, stage),
  ];
}

/** `vmctl up`: the course of each VM of the VMFile to running. */
export async function upCourses(
  ctx: VmContext,
  o: TargetOptions,
  provision: StageOptions,
  opts: { fresh?: boolean } = {},
): Promise<Course[]> {
  const { file, vms, stage } = await provisionedTargets(ctx, o, provision);
  const courses: Course[] = [];
  for (const t of vms) {
    const { def, rec } = t;
    const note = rec ? await mismatch(rec, def, file) : undefined;
    if (note) log.warn(`VM '${def.name}': ${note}`);
    const header = `==> ${def.name}`;
    if (!rec) {
      const stages = await createAndStart(ctx, t, file, stage);
      courses.push({ decision: `${def.name}: absent -> create, start, provision`, header, stages });
    } else if (rec.state === "running") {
      courses.push({
        decision: `${def.name}: running -> skip (already running)`,
        header,
        stages: [{
          note: "    already running: skipped (`vmctl provision` re-runs its provisioners)",
        }],
      });
    } else if (rec.state === "suspended") {
      const p = transitionPlan(ctx, t.backend, def.name, "resume");
      courses.push({
        decision: `${def.name}: suspended -> resume (not re-provisioned)`,
        header,
        stages: [
          planStage(
            ctx,
            p,
            (_, took) => `    resumed in ${took} (not re-provisioned: it kept running state)`,
          ),
        ],
      });
    } else if (savedStateMode(rec, opts.fresh) === "resume") {
      const p = transitionPlan(ctx, t.backend, def.name, "start", { savedState: "resume" });
      courses.push({
        decision: `${def.name}: ${rec.state} with a saved state -> resume it (not re-provisioned)`,
        header,
        stages: [
          planStage(
            ctx,
            p,
            (_, took) =>
              `    resumed its saved state in ${took} (not re-provisioned: it kept its state)`,
          ),
        ],
      });
    } else {
      const savedState = savedStateMode(rec, opts.fresh);
      const p = transitionPlan(ctx, t.backend, def.name, "start", { savedState });
      courses.push({
        decision: `${def.name}: ${rec.state} -> start, provision`,
        header,
        stages: [
          planStage(ctx, p, (_, took) => `    started (was ${rec.state}) in ${took}`),
          ...provisionStage(ctx, t.backend, def, file, stage),
        ],
      });
    }
  }
  return courses;
}

/** `vmctl down`: stop (or destroy) the VMs this VMFile made. */
export async function downCourses(
  ctx: VmContext,
  o: TargetOptions,
  opts: { destroy?: boolean; adopt?: boolean; save?: boolean; timeoutMs: number },
): Promise<Course[]> {
  const { file, vms } = await targets(ctx, o);
  return vms.map(({ def, backend, rec }): Course => {
    const name = def.name;
    if (!rec) return { stages: [{ note: `${name}: not created: skipped` }] };
    if (opts.destroy) {
      refuseForeign(rec, file, "vmctl down --destroy", opts.adopt);
      const p = destroyPlan(ctx, backend, rec, { timeoutMs: opts.timeoutMs });
      return {
        decision: `${name}: ${rec.state} -> destroy`,
        stages: [planStage(ctx, p, () => `${name}: destroyed (was ${rec.state})`)],
      };
    }
    if (rec.state !== "running" && rec.state !== "suspended") {
      return { stages: [{ note: `${name}: already ${rec.state}: skipped` }] };
    }
    const p = transitionPlan(ctx, backend, name, "stop", {
      timeoutMs: opts.timeoutMs,
      save: opts.save,
    });
    const how = opts.save ? "stop, saving its state" : "stop";
    return {
      decision: `${name}: ${rec.state} -> ${how}`,
      stages: [planStage(ctx, p, () => `${name}: stopped${opts.save ? " (state saved)" : ""}`)],
    };
  });
}

/** `vmctl reload`: destroy each VM (if it exists), then create, start and provision it afresh. */
export async function reloadCourses(
  ctx: VmContext,
  o: TargetOptions,
  provision: StageOptions,
  opts: { adopt?: boolean } = {},
): Promise<Course[]> {
  const { file, vms, stage } = await provisionedTargets(ctx, o, provision);
  const courses: Course[] = [];
  for (const t of vms) {
    const { def, rec } = t;
    if (rec) refuseForeign(rec, file, "vmctl reload", opts.adopt);
    const stages: Stage[] = rec
      ? [planStage(ctx, destroyPlan(ctx, t.backend, rec), () => `    destroyed (was ${rec.state})`)]
      : [];
    stages.push(...await createAndStart(ctx, t, file, stage, { replacing: true }));
    courses.push({
      decision: rec
        ? `${def.name}: ${rec.state} -> destroy it, then recreate it`
        : `${def.name}: absent -> create it`,
      header: `==> ${def.name}`,
      stages,
    });
  }
  return courses;
}

/** `vmctl provision`: re-run the provisioners of running VMs. */
export async function provisionCourses(
  ctx: VmContext,
  o: TargetOptions,
  timeoutMs: number,
): Promise<Course[]> {
  const { file, vms } = await targets(ctx, o);
  const stage = { skip: false, timeoutMs, prefixOutput: vms.length > 1 };
  return vms.map(({ def, backend, rec }): Course => {
    if (def.provision.length === 0) {
      return { stages: [{ note: `${def.name}: no provisioners: skipped` }] };
    }
    requireProvisionable(def, backend, rec);
    return {
      decision: `${def.name}: running -> provision`,
      header: `==> ${def.name}`,
      stages: provisionStage(ctx, backend, def, file, stage),
    };
  });
}

/** `vmctl provision` needs the VM created, running, reachable over SSH and not noop. */
function requireProvisionable(def: VmDef, backend: Hypervisor, rec: VmRecord | undefined): void {
  if (!rec) {
    throw new Diagnostic("vmctl::vm::not_found", `VM '${def.name}' has not been created`, {
      hint: "bring it up first with `vmctl up`",
    });
  }
  if (rec.state !== "running") {
    throw new Diagnostic(
      "vmctl::vm::invalid_state",
      `cannot provision VM '${def.name}': it is ${rec.state}`,
      { hint: "provisioners need a running VM; `vmctl up` starts it (and provisions)" },
    );
  }
  requireSshBlock(def);
  if (backend.tag === "noop") {
    throw new Diagnostic(
      "vmctl::noop::no_guest",
      `the noop backend runs no guest, so the ${def.provision.length} provisioning step(s) of VM '${def.name}' cannot run`,
      { hint: "use the qemu backend (VMCTL_BACKEND=qemu, the default on Linux) for a real VM" },
    );
  }
}
