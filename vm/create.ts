/**
 * Creating a VM, shared by `vmctl create`, `up` and `reload`:
 *
 *   validate name -> resolve the image -> reserve the record (under the store
 *   lock) -> work dir (0700) -> cloud-init seed -> backend.prepare -> persist.
 *
 * Any failure undoes what was done, in reverse: the work dir is removed and
 * the reservation dropped. While it runs, the reserved record is `failed` with
 * a busy mark naming this process, so an interrupted create (kill -9) shows up
 * honestly in `vmctl list` and `vmctl destroy` cleans it up.
 *
 * @module
 */
import { pidAlive } from "../../backends/proc.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { validateVmName } from "../../lib/names.ts";
import { vmWorkDir } from "../../lib/paths.ts";
import {
  busyHolder,
  createPrivateDir,
  ensurePrivateDir,
  readStore,
  updateStore,
  type VmOperation,
} from "../../lib/store.ts";
import type {
  Accel,
  BackendTag,
  CloudInitSpec,
  NetworkConfig,
  VmRecord,
  VmSpec,
} from "../../lib/types.ts";
import type { ImageSource } from "../../lib/vmfile/types.ts";
import { log } from "../../lib/log.ts";
import { backendFor } from "../../backends/router.ts";
import type { OpsContext } from "../common.ts";
import { removeRecord, removeWorkDir } from "./transitions.ts";
import { describeNetwork } from "./view.ts";

/** Everything needed to create one VM, already validated and resolved to absolute paths. */
export interface CreateRequest {
  name: string;
  backend: BackendTag;
  image: ImageSource;
  vcpus: number;
  memoryMb: number;
  diskGb?: number;
  network: NetworkConfig;
  uefi: boolean;
  accel: Accel;
  vnc: boolean;
  /** Absent: no seed ISO. Without sshKeyPath/userDataPath a key pair is generated. */
  cloudInit?: CloudInitSpec;
  sshUser: string;
  /** A private key the user named (VMFile `ssh.private-key`, or next to `--ssh-key`). */
  sshPrivateKey?: string;
  /** Absolute path of the VMFile this VM comes from. */
  vmfile?: string;
  /** Hash of the VMFile definition (see cli/declarative/vmfile.ts). */
  defHash?: string;
}

/** Lines describing what {@link createVm} would do (for `--dry-run`); throws if it would fail early. */
export async function planCreate(
  ctx: OpsContext,
  req: CreateRequest,
  opts: { replacing?: boolean } = {},
): Promise<string[]> {
  validateVmName(req.name);
  const existing = (await readStore(ctx.paths)).vms[req.name];
  if (existing && !opts.replacing) throw exists(req.name);
  const ci = req.cloudInit;
  const seed = !ci
    ? "none (no cloud-init)"
    : ci.userDataPath
    ? `raw user-data from ${ci.userDataPath}`
    : ci.sshKeyPath
    ? `authorises ${ci.sshKeyPath} for user '${req.sshUser}'`
    : `a generated SSH key pair for user '${req.sshUser}'`;
  const image = req.image.kind === "path"
    ? `${req.image.path} (local)`
    : `${req.image.url} (downloaded into the image cache unless already there${
      req.image.sha256 ? ", sha256 checked" : ""
    })`;
  return [
    `would create VM '${req.name}' on the ${req.backend} backend`,
    `  image:     ${image}`,
    `  resources: ${req.vcpus} vCPU(s), ${req.memoryMb} MB memory${
      req.diskGb ? `, ${req.diskGb} GB disk` : ""
    }`,
    `  network:   ${describeNetwork(req.network)}`,
    `  seed:      ${seed}`,
    `  work dir:  ${vmWorkDir(ctx.paths, req.name)} (mode 0700)`,
  ];
}

function exists(name: string): Diagnostic {
  return new Diagnostic("vmctl::vm::exists", `a VM named '${name}' already exists`, {
    hint: `pick another name, or remove it first with \`vmctl destroy ${name}\``,
  });
}

/** Create the VM described by `req`; returns the stored record (state `prepared`). */
export async function createVm(ctx: OpsContext, req: CreateRequest): Promise<VmRecord> {
  validateVmName(req.name);
  const workDir = vmWorkDir(ctx.paths, req.name);
  const backend = await backendFor(req.backend);
  // Fail fast before a possibly long download; the reservation below re-checks under the lock.
  if ((await readStore(ctx.paths)).vms[req.name]) throw exists(req.name);
  const imagePath = await resolveImagePath(ctx, req);
  const op: VmOperation = { pid: Deno.pid, action: "create", started_at: new Date().toISOString() };
  const base: VmRecord = {
    id: `${req.backend}-${crypto.randomUUID()}`,
    name: req.name,
    backend: req.backend,
    state: "failed",
    state_reason:
      `creation by vmctl pid ${Deno.pid} did not finish; \`vmctl destroy ${req.name}\` removes it`,
    operation: op,
    work_dir: workDir,
    image_path: imagePath ?? null,
    image_source: req.image,
    overlay_path: null,
    seed_iso_path: null,
    pid: null,
    vcpus: req.vcpus,
    memory_mb: req.memoryMb,
    disk_gb: req.diskGb ?? null,
    network: req.network,
    uefi: req.uefi,
    accel: req.accel,
    vnc: req.vnc,
    ssh_host_port: null,
    mac_addr: null,
    ssh_user: req.sshUser,
    ssh_private_key: req.sshPrivateKey ?? null,
    known_hosts: null,
    instance_id: `i-${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`,
    vmfile: req.vmfile ?? null,
    def_hash: req.defHash ?? null,
    created_at: new Date().toISOString(),
  };

  let reserved = false;
  let createdDir = false;
  let preparedRec: VmRecord | undefined;
  const undo = async () => {
    const warn = (e: unknown) => log.warn(`undo: ${e instanceof Error ? e.message : e}`);
    if (preparedRec) await backend.destroy(preparedRec, ctx).catch(warn);
    if (createdDir) await removeWorkDir(ctx, workDir).catch(warn);
    if (reserved) await removeRecord(ctx, req.name, base.id).catch(warn);
  };
  // Ctrl+C (or a plain kill) half-way must not leave a half-made VM behind either: the signal
  // is noted, the running step finishes, then everything is undone. A second signal quits at once
  // (the reservation then shows the VM as failed, and `vmctl destroy` removes it).
  let aborting = false;
  const interrupted = () => {
    if (aborting) Deno.exit(130);
    aborting = true;
    log.warn(`interrupted: undoing the creation of VM '${req.name}' (again to quit at once)`);
  };
  const checkpoint = () => {
    if (aborting) throw new Error("interrupted");
  };
  // Listening starts before the reservation is written: a signal in between would otherwise kill
  // the process with the reservation left in the store.
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? [] : ["SIGINT", "SIGTERM"];
  for (const sig of signals) Deno.addSignalListener(sig, interrupted);
  try {
    await updateStore(ctx.paths, (doc) => {
      const cur = doc.vms[req.name];
      if (cur) {
        const holder = busyHolder(cur, pidAlive);
        if (holder && holder.action === "create") {
          throw new Diagnostic("vmctl::vm::exists", `VM '${req.name}' is being created right now`, {
            hint: `another vmctl (pid ${holder.pid}) is creating it; wait for it to finish`,
          });
        }
        throw exists(req.name);
      }
      doc.vms[req.name] = base;
    });
    reserved = true;
    checkpoint();
    await ensurePrivateDir(ctx.paths.vmsDir);
    try {
      await createPrivateDir(workDir);
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) {
        throw new Diagnostic(
          "vmctl::vm::workdir_exists",
          `the work directory ${workDir} already exists but no VM '${req.name}' is registered`,
          { hint: "it is left over from an earlier VM; remove it (after saving what you need)" },
        );
      }
      throw err;
    }
    createdDir = true;
    checkpoint();
    let rec = await writeSeed(req, base);
    checkpoint();
    const spec: VmSpec = {
      name: req.name,
      imagePath: imagePath ?? "",
      vcpus: req.vcpus,
      memoryMb: req.memoryMb,
      diskGb: req.diskGb,
      network: req.network,
      uefi: req.uefi,
      accel: req.accel,
      vnc: req.vnc,
      cloudInit: req.cloudInit,
      ssh: { user: req.sshUser, privateKeyPath: rec.ssh_private_key ?? undefined },
      vmfile: req.vmfile,
    };
    rec = preparedRec = await backend.prepare(spec, rec, ctx);
    checkpoint();
    const prepared: VmRecord = { ...rec, state: "prepared", state_reason: null };
    delete prepared.operation;
    return await updateStore(ctx.paths, (doc) => {
      doc.vms[req.name] = prepared;
      return doc.vms[req.name];
    });
  } catch (err) {
    await undo();
    if (aborting) {
      log.warn(`VM '${req.name}' was not created: nothing is left behind`);
      Deno.exit(130);
    }
    throw err;
  } finally {
    for (const sig of signals) Deno.removeSignalListener(sig, interrupted);
  }
}

/** The local base image: a path as given; a URL is downloaded (the noop backend only records it). */
async function resolveImagePath(ctx: OpsContext, req: CreateRequest): Promise<string | undefined> {
  if (req.image.kind === "path") {
    try {
      const st = await Deno.stat(req.image.path);
      if (!st.isFile) throw new Deno.errors.NotFound();
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw new Diagnostic("vmctl::image::not_found", `image ${req.image.path} does not exist`, {
        hint: "check the path (relative paths resolve against the directory you ran vmctl in)",
      });
    }
    if (req.backend === "noop") return req.image.path;
  }
  if (req.backend === "noop") return undefined;
  const { resolveImage } = await import("../../lib/image/resolve.ts");
  return await resolveImage(req.image, ctx.paths, { progress: true });
}

/** Write the seed ISO and keys if cloud-init applies; returns the record with their paths. */
async function writeSeed(req: CreateRequest, rec: VmRecord): Promise<VmRecord> {
  if (!req.cloudInit) return rec;
  const { writeVmSeed } = await import("../../lib/cloudinit/vm_seed.ts");
  try {
    const seed = await writeVmSeed({
      workDir: rec.work_dir,
      vmName: req.name,
      instanceId: rec.instance_id!,
      cloudInit: req.cloudInit,
      sshUser: req.sshUser,
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
      req.backend === "noop" && err instanceof Diagnostic && err.code === "vmctl::seed::unavailable"
    ) {
      log.warn(`no seed ISO written (${err.message}); the noop backend boots no guest`);
      return rec;
    }
    throw err;
  }
}
