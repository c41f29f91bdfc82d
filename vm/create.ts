/**
 * Creating a VM, shared by `vmctl create`, `up` and `reload`, as a plan:
 *
 *   resolve the image -> reserve the record (under the store lock) -> work dir
 *   (0700) -> cloud-init seed -> backend prepare -> record it prepared.
 *
 * `apply` runs it; any failure or interrupt undoes what was done, in reverse:
 * the backend's resources are released, the work dir removed and the
 * reservation dropped. While it runs, the reserved record is `failed` with a
 * busy mark naming this process, so a create killed outright (kill -9) shows
 * up honestly in `vmctl list` and `vmctl destroy` cleans it up.
 *
 * @module
 */
import { pidAlive } from "../backends/proc.ts";
import {
  apply,
  EXIT_INTERRUPTED,
  ROLLBACK_FAILED,
  storeStep,
  taskStep,
} from "../backends/apply.ts";
import { Diagnostic, toDiagnostics } from "../lib/diagnostics.ts";
import { describeFileProblem, fileProblem } from "../lib/files.ts";
import { validateVmName } from "../lib/names.ts";
import { vmWorkDir } from "../lib/paths.ts";
import { type Plan, plan, type Step } from "../lib/plan.ts";
import {
  busyHolder,
  createPrivateDir,
  ensurePrivateDir,
  readStore,
  updateStore,
} from "../lib/store.ts";
import { describeNetwork, type VmConfig, type VmRecord } from "../lib/types.ts";
import { vmFile } from "../lib/vm_files.ts";
import { log } from "../lib/log.ts";
import { isOffline } from "../lib/offline.ts";
import type { Hypervisor, Making } from "../backends/hypervisor.ts";
import { backendFor } from "../backends/router.ts";
import type { VmContext } from "./context.ts";
import { type Course, keepCause, planStage, type Stage } from "./course.ts";
import { removeRecord, removeWorkDir, transitionPlan } from "./lifecycle.ts";
import { host, isAlreadyExists } from "../host/mod.ts";
import { checkForwards, sshPortForNew } from "./ports.ts";
import { describeForward, describeMount } from "../lib/forwards.ts";

function exists(name: string): Diagnostic {
  return new Diagnostic("vmctl::vm::exists", `a VM named '${name}' already exists`, {
    hint: `pick another name, or remove it first with \`vmctl destroy ${name}\``,
  });
}

/**
 * The plan that creates the VM `config` declares. Checks what can fail early
 * (name, an existing VM unless `replacing`, a missing local image) before
 * returning, so `--dry-run` refuses what the real run would refuse.
 */
export async function createPlan(
  ctx: VmContext,
  backend: Hypervisor,
  config: VmConfig,
  opts: { replacing?: boolean } = {},
): Promise<Plan> {
  validateVmName(config.name);
  // Fail fast before a possibly long download; the reservation re-checks under the lock.
  if (!opts.replacing && (await readStore(ctx.paths)).vms[config.name]) throw exists(config.name);
  if (config.image.kind === "path") requireImageFile(config.image.path);
  else if (config.backend !== "noop" && isOffline()) {
    const { requireCachedWhenOffline } = await import("../lib/image/resolve.ts");
    await requireCachedWhenOffline(config.image, ctx.paths);
  }
  if (config.forwards?.length) await checkForwards(ctx, config.name, config.forwards);
  const workDir = vmWorkDir(ctx.paths, config.name);
  const m: Making = { rec: reservation(config, workDir) };
  const steps: Step[] = [
    taskStep("resolve the base image", describeImage(config), async () => {
      m.imagePath = await resolveImagePath(ctx, config);
      m.rec = { ...m.rec, image_path: m.imagePath ?? null };
    }),
    storeStep(
      `reserve VM '${config.name}'`,
      ctx.paths.storeFile,
      `add VM '${config.name}' (state failed, busy: create, until it is prepared)${
        config.network.type === "user" ? "; choose its SSH port" : ""
      }`,
      async () => m.rec = await reserve(ctx, m.rec),
      {
        action: { kind: "store", file: ctx.paths.storeFile, change: `remove VM '${config.name}'` },
        run: () => removeRecord(ctx, config.name, m.rec.id),
      },
    ),
    {
      title: "create the work directory",
      action: { kind: "mkdir", path: workDir, mode: 0o700 },
      run: () => makeWorkDir(ctx, config.name, workDir),
      undo: { action: { kind: "remove", path: workDir }, run: () => removeWorkDir(ctx, workDir) },
    },
  ];
  const backendSteps = await backend.prepareSteps?.(config, m, ctx);
  steps.push(...backendSteps?.network ?? []);
  if (config.cloudInit) {
    steps.push(taskStep(
      "write the cloud-init seed",
      `${vmFile(workDir, "seedIso")}: ${describeSeed(config)}`,
      async () => m.rec = await writeSeed(config, m.rec, m.networkConfig),
    ));
  }
  steps.push(
    ...backendSteps?.prepare ?? [prepareStep(ctx, backend, config, m)],
    storeStep(
      `record VM '${config.name}' prepared`,
      ctx.paths.storeFile,
      `VM '${config.name}': state prepared, clear the mark`,
      async () => m.rec = await markPrepared(ctx, m.rec),
    ),
  );
  return plan(`create VM '${config.name}'`, steps);
}

/** The backend's prepare as one step (backends without {@link Hypervisor.prepareSteps}). */
function prepareStep(ctx: VmContext, backend: Hypervisor, config: VmConfig, m: Making): Step {
  return taskStep(
    `prepare VM '${config.name}' on the ${backend.tag} backend`,
    describeMachine(config),
    async () => {
      const spec = { ...config, sshPrivateKey: m.rec.ssh_private_key ?? undefined };
      m.rec = await backend.prepare({ ...spec, imagePath: m.imagePath ?? "" }, m.rec, ctx);
    },
    {
      action: { kind: "task", detail: `${backend.tag} backend: destroy` },
      run: () => backend.destroy(m.rec, ctx),
    },
  );
}

/**
 * `vmctl create`: the course that creates the VM `config` declares (and
 * starts it with `start`), on the backend `config` names, resolved once.
 */
export async function createCourse(
  ctx: VmContext,
  config: VmConfig,
  opts: { start?: boolean } = {},
): Promise<Course> {
  const backend = await backendFor(config.backend);
  const name = config.name;
  const stages: Stage[] = [
    createStage(
      ctx,
      await createPlan(ctx, backend, config),
      name,
      (rec) => `VM '${name}' created (id: ${rec!.id})`,
    ),
  ];
  if (opts.start) stages.push(startStage(ctx, backend, name, () => `VM '${name}' started`));
  return { stages };
}

/** The stage applying a create plan (see {@link applyCreate}). */
export function createStage(
  ctx: VmContext,
  p: Plan,
  name: string,
  done: (rec: VmRecord | void, took: string) => string,
): Stage {
  return { plan: p, apply: () => applyCreate(ctx, p, name), done };
}

/** The start after a create: a failure keeps the VM and says how to retry or remove it. */
export function startStage(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
  done: (rec: VmRecord | void, took: string) => string,
): Stage {
  return {
    ...planStage(ctx, transitionPlan(ctx, backend, name, "start"), done),
    onError: (err) => keptAfterFailedStart(name, err),
  };
}

/** Apply a create plan; returns the stored record (state `prepared`). */
export async function applyCreate(ctx: VmContext, p: Plan, name: string): Promise<VmRecord> {
  try {
    await apply(p, keepCause(ctx));
  } catch (err) {
    const d = toDiagnostics(err)[0];
    if (d.exitCode === EXIT_INTERRUPTED && !d.details.some((l) => l.startsWith(ROLLBACK_FAILED))) {
      log.warn(`VM '${name}' was not created: nothing is left behind`);
    }
    throw err;
  }
  return (await readStore(ctx.paths)).vms[name];
}

/** The record reserved while the VM is made: failed, with a busy mark naming this process. */
function reservation(config: VmConfig, workDir: string): VmRecord {
  return {
    id: `${config.backend}-${crypto.randomUUID()}`,
    name: config.name,
    backend: config.backend,
    state: "failed",
    state_reason:
      `creation by vmctl pid ${host.pid} did not finish; \`vmctl destroy ${config.name}\` removes it`,
    operation: { pid: host.pid, action: "create", started_at: new Date().toISOString() },
    work_dir: workDir,
    image_path: null,
    image_source: config.image,
    overlay_path: null,
    seed_iso_path: null,
    pid: null,
    vcpus: config.vcpus,
    memory_mb: config.memoryMb,
    disk_gb: config.diskGb ?? null,
    network: config.network,
    uefi: config.uefi,
    accel: config.accel,
    vnc: config.vnc,
    ssh_host_port: null,
    forwards: config.forwards ?? [],
    mounts: config.mounts ?? [],
    mac_addr: null,
    ssh_user: config.sshUser,
    ssh_port: config.sshPort ?? null,
    ssh_private_key: config.sshPrivateKey ?? null,
    known_hosts: null,
    instance_id: `i-${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`,
    vmfile: config.vmfile ?? null,
    def_hash: config.defHash ?? null,
    created_at: new Date().toISOString(),
  };
}

/**
 * Write the reservation under the lock, with the SSH port chosen there (so two
 * creates never pick the same); refuses a VM that exists or is being created.
 */
async function reserve(ctx: VmContext, rec: VmRecord): Promise<VmRecord> {
  return await updateStore(ctx.paths, async (doc) => {
    const cur = doc.vms[rec.name];
    if (cur) {
      const holder = busyHolder(cur, pidAlive);
      if (holder && holder.action === "create") {
        throw new Diagnostic("vmctl::vm::exists", `VM '${rec.name}' is being created right now`, {
          hint: `another vmctl (pid ${holder.pid}) is creating it; wait for it to finish`,
        });
      }
      throw exists(rec.name);
    }
    doc.vms[rec.name] = { ...rec, ssh_host_port: await sshPortForNew(ctx, doc, rec) };
    return doc.vms[rec.name];
  });
}

async function makeWorkDir(ctx: VmContext, name: string, workDir: string): Promise<void> {
  await ensurePrivateDir(ctx.paths.vmsDir);
  try {
    await createPrivateDir(workDir);
  } catch (err) {
    if (isAlreadyExists(err)) {
      throw new Diagnostic(
        "vmctl::vm::workdir_exists",
        `the work directory ${workDir} already exists but no VM '${name}' is registered`,
        { hint: "it is left over from an earlier VM; remove it (after saving what you need)" },
      );
    }
    throw err;
  }
}

async function markPrepared(ctx: VmContext, rec: VmRecord): Promise<VmRecord> {
  const prepared: VmRecord = { ...rec, state: "prepared", state_reason: null };
  delete prepared.operation;
  return await updateStore(ctx.paths, (doc) => {
    doc.vms[rec.name] = prepared;
    return doc.vms[rec.name];
  });
}

function requireImageFile(path: string): void {
  const problem = fileProblem(path);
  if (!problem) return;
  throw new Diagnostic("vmctl::image::not_found", describeFileProblem(problem, "image", path), {
    hint: "check the path (relative paths resolve against the directory you ran vmctl in)",
  });
}

/** The local base image: a path as given; a URL is downloaded (the noop backend only records it). */
async function resolveImagePath(ctx: VmContext, config: VmConfig): Promise<string | undefined> {
  if (config.image.kind === "path") {
    requireImageFile(config.image.path);
    if (config.backend === "noop") return config.image.path;
  }
  if (config.backend === "noop") return undefined;
  const { resolveImage } = await import("../lib/image/resolve.ts");
  return await resolveImage(config.image, ctx.paths, { progress: true });
}

/** Write the seed ISO and keys if cloud-init applies; returns the record with their paths. */
async function writeSeed(
  config: VmConfig,
  rec: VmRecord,
  networkConfig?: string,
): Promise<VmRecord> {
  if (!config.cloudInit) return rec;
  const { writeVmSeed } = await import("../lib/cloudinit/vm_seed.ts");
  try {
    const seed = await writeVmSeed({
      workDir: rec.work_dir,
      vmName: config.name,
      instanceId: rec.instance_id!,
      cloudInit: config.cloudInit,
      sshUser: config.sshUser,
      mounts: config.mounts,
      networkConfig,
    });
    return {
      ...rec,
      seed_iso_path: seed.seedIsoPath,
      ssh_private_key: seed.generatedPrivateKey ?? rec.ssh_private_key ?? null,
      known_hosts: seed.knownHostsPath ?? null,
      host_key_alias: seed.hostKeyAlias ?? null,
    };
  } catch (err) {
    // The noop backend boots nothing, so a seed writer that is not available is only worth a warning.
    if (
      config.backend === "noop" && err instanceof Diagnostic &&
      err.code === "vmctl::seed::unavailable"
    ) {
      log.warn(`no seed ISO written (${err.message}); the noop backend boots no guest`);
      return rec;
    }
    throw err;
  }
}

/** Where the image comes from, for the plan. */
function describeImage(config: VmConfig): string {
  return config.image.kind === "path"
    ? `${config.image.path} (local)`
    : `${config.image.url} (downloaded into the image cache unless already there${
      config.image.sha256 ? ", sha256 checked" : ""
    })`;
}

/** What the seed holds, for the plan. */
function describeSeed(config: VmConfig): string {
  const ci = config.cloudInit;
  if (!ci) return "none (no cloud-init)";
  if (ci.userDataPath) return `raw user-data from ${ci.userDataPath}`;
  if (ci.sshKeyPath) return `authorises ${ci.sshKeyPath} for user '${config.sshUser}'`;
  return `a generated SSH key pair for user '${config.sshUser}'`;
}

/** The machine's resources, network and firmware, one fact a line. */
function describeMachine(config: VmConfig): string {
  return [
    `resources: ${config.vcpus} vCPU(s), ${config.memoryMb} MB memory${
      config.diskGb ? `, ${config.diskGb} GB disk` : ""
    }`,
    `network:   ${describeNetwork(config.network)}`,
    ...(config.forwards ?? []).map((f) => `forward:   ${describeForward(f)}`),
    ...(config.mounts ?? []).map((m) => `mount:     ${describeMount(m)} (virtio-9p)`),
    `firmware:  ${config.uefi ? "UEFI (OVMF)" : "BIOS"}; accelerator ${config.accel}${
      config.vnc ? "; VNC on 127.0.0.1" : ""
    }`,
    ...(config.cloudInit ? [] : ["seed:      none (no cloud-init)"]),
  ].join("\n");
}

/** A start that fails after a create keeps the VM (state failed); say so under the error. */
export function keptAfterFailedStart(name: string, err: unknown): unknown {
  if (err instanceof Diagnostic) {
    err.details.push(
      `VM '${name}' was created but did not start: \`vmctl start ${name}\` retries, \`vmctl destroy ${name}\` removes it`,
    );
  }
  return err;
}
