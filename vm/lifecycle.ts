/**
 * The VM lifecycle: states, the transitions between them, and the plans that
 * carry a transition out.
 *
 *                create                      start
 *     (absent) ---------> prepared -----------------------------+
 *                            |                                  v
 *                            |          start       +-------> running <---+
 *                            |   +--> stopped ------+           |  |      |
 *                            |   |       ^        stop          |  |      | resume
 *                            |   |       +----------------------+  |      |
 *                            |   |       |                  suspend|      |
 *                            |   |       |   stop                  v      |
 *                            |   |       +------------------- suspended --+
 *                            |   |  start, stop
 *                            |   +------------- failed  <-- any step that fails
 *                            v
 *     (absent) <--- destroy (from every state)
 *
 * The diagram as data is {@link TRANSITIONS}: the states each transition
 * starts from and where it ends. A transition runs as a plan:
 *
 *   mark busy (store, re-checks the live state) -> backend call -> store result
 *
 * The busy mark keeps a second vmctl off the VM meanwhile; a backend failure
 * leaves the VM `failed` with the reason, so `status` explains it and `start`
 * or `destroy` recover from it.
 *
 * @module
 */
import { STOP_TIMEOUT_MS } from "../lib/defaults.ts";
import { storeStep } from "../backends/apply.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import { assertInside } from "../lib/paths.ts";
import { type Plan, plan } from "../lib/plan.ts";
import { readStore, requireRecord, type StoreDoc, updateStore } from "../lib/store.ts";
import { type Accel, VM_STATES, type VmRecord, type VmState } from "../lib/types.ts";
import type { Hypervisor } from "../backends/hypervisor.ts";
import { backendFor } from "../backends/router.ts";
import type { VmContext } from "./context.ts";
import { type Course, planStage } from "./course.ts";
import { backendStep, claimStep, failed, type Held, release } from "./claim.ts";
import { discardSavedStateStep, resumeSteps, saveStateStep } from "./snapshot.ts";
import { host, isNotFound } from "../host/mod.ts";
import { assignSshPort } from "./ports.ts";
import { loopbackPortFree } from "../backends/ports.ts";

export type Transition = "start" | "stop" | "suspend" | "resume";

/** One edge set of the state diagram. */
interface Edge {
  /** The states it starts from (the book's table; `failed` may be retried or stopped). */
  from: readonly VmState[];
  /** Where it ends; null: the VM is gone. */
  to: VmState | null;
  /** What `list` shows while a vmctl is doing it. */
  busy: string;
  /** The past participle for progress lines. */
  done: string;
}

/** The state diagram as data. */
export const TRANSITIONS: Record<Transition | "create" | "destroy", Edge> = {
  create: { from: [], to: "prepared", busy: "creating", done: "created" },
  start: {
    from: ["prepared", "stopped", "failed"],
    to: "running",
    busy: "starting",
    done: "started",
  },
  stop: {
    from: ["running", "suspended", "failed"],
    to: "stopped",
    busy: "stopping",
    done: "stopped",
  },
  suspend: { from: ["running"], to: "suspended", busy: "suspending", done: "suspended" },
  resume: { from: ["suspended"], to: "running", busy: "resuming", done: "resumed" },
  destroy: { from: VM_STATES, to: null, busy: "destroying", done: "destroyed" },
};

/** The states each transition starts from. */
export const ALLOWED_FROM: Record<Transition, readonly VmState[]> = {
  start: TRANSITIONS.start.from,
  stop: TRANSITIONS.stop.from,
  suspend: TRANSITIONS.suspend.from,
  resume: TRANSITIONS.resume.from,
};

/** What `list` shows for a VM a vmctl is changing (`op.action`). */
export function busyLabel(action: string): string {
  return TRANSITIONS[action as keyof typeof TRANSITIONS]?.busy ?? `${action} in progress`;
}

/** `vmctl::vm::invalid_state`: names the current state and what to do instead. */
export function invalidState(name: string, state: VmState, action: Transition): Diagnostic {
  const hints: Record<string, string> = {
    "start:running": `it is already running; to restart it run \`vmctl stop ${name}\` first`,
    "start:suspended": `it is paused; continue it with \`vmctl resume ${name}\``,
    "stop:prepared": "it was never started, so there is nothing to stop",
    "stop:stopped": "it is already stopped",
    "suspend:suspended": `it is already suspended; \`vmctl resume ${name}\` continues it`,
    "resume:running": "it is already running",
  };
  const fallback = action === "suspend" || action === "resume"
    ? `only a ${
      action === "suspend" ? "running" : "suspended"
    } VM can be ${action}d; start it with \`vmctl start ${name}\``
    : `\`vmctl status ${name}\` shows what it is doing`;
  return new Diagnostic(
    "vmctl::vm::invalid_state",
    `cannot ${action} VM '${name}': it is ${state}`,
    { hint: hints[`${action}:${state}`] ?? fallback, details: [`current state: ${state}`] },
  );
}

/** Options of a transition plan. */
export interface TransitionOptions {
  timeoutMs?: number;
  accel?: Accel;
  /** stop: save the running state first, then quit (`stop --save`). */
  save?: boolean;
  /** start: the VM has a saved state; resume from it, or discard it and boot (`--fresh`). */
  savedState?: "resume" | "discard";
  /** start: choose and record a new SSH port first. */
  newPort?: boolean;
  /** The record as it was when the plan was made (what the backend's explanation shows). */
  planned?: VmRecord;
}

/** How a start treats the saved state of `rec` (none, resume from it, or discard it with --fresh). */
export function savedStateMode(
  rec: VmRecord | undefined,
  fresh = false,
): TransitionOptions["savedState"] {
  if (!rec?.saved_state) return undefined;
  return fresh ? "discard" : "resume";
}

/** The plan of one transition on `name` (the record is read when it runs). */
export function transitionPlan(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
  action: Transition,
  opts: TransitionOptions = {},
): Plan {
  const held: Held = {};
  const edge = TRANSITIONS[action];
  const save = action === "stop" && opts.save === true;
  const resume = action === "start" && opts.savedState === "resume";
  const how = [
    action === "start" && opts.accel ? ` (accelerator ${opts.accel})` : "",
    resume ? " from the saved state (-loadvm)" : "",
    save ? " at once (quit: the state is saved)" : "",
    action === "start" && opts.newPort ? "; first a new SSH port, recorded" : "",
  ].join("");
  const from: readonly VmState[] = save ? ["running", "suspended"] : ALLOWED_FROM[action];
  const claimed = claimStep(ctx, backend, name, action, held, {
    states: from,
    refuse: (state) => invalidState(name, state, action),
  });
  const explained = action === "start" || action === "stop"
    ? backend.explain?.(action, name, opts.planned)
    : undefined;
  const run = backendStep(
    `${action} VM '${name}'${resume ? " from its saved state" : ""}`,
    explained ?? `${backend.tag} backend: ${action}${how}`,
    action,
    held,
    async (vm) => {
      if (action === "start") vm = await withSshPort(ctx, vm, opts.newPort === true);
      return await runBackend(backend, action, vm, ctx, opts, vm.saved_state?.tag);
    },
  );
  const record = storeStep(
    `record VM '${name}' ${edge.to}`,
    ctx.paths.storeFile,
    `VM '${name}': state ${edge.to}${save ? ", its saved state" : ""}, clear the mark`,
    async () => held.vm = await release(ctx, held.vm!),
  );
  if (resume) {
    return plan(`start VM '${name}' from its saved state`, [
      claimed,
      ...resumeSteps(ctx, backend, name, held, { start: run, record }),
    ]);
  }
  const before = save
    ? [saveStateStep(ctx, backend, name, held)]
    : action === "start" && opts.savedState === "discard"
    ? [discardSavedStateStep(ctx, backend, name, held)]
    : [];
  return plan(`${action} VM '${name}'${save ? " (saving its state)" : ""}`, [
    claimed,
    ...before,
    run,
    record,
  ]);
}

/**
 * `vm` with the SSH port it starts on: a new one when asked, one if it has
 * none (older records), and a new one for a VM that never ran whose port,
 * chosen at create, something took meanwhile (nothing relies on it yet; a
 * VM of another data dir may have chosen the same one).
 */
async function withSshPort(ctx: VmContext, vm: VmRecord, fresh: boolean): Promise<VmRecord> {
  if (vm.network.type !== "user") return vm;
  const port = vm.ssh_host_port;
  const renew = fresh || !port || (vm.state === "prepared" && !(await loopbackPortFree(port)));
  if (!renew) return vm;
  const stored = await assignSshPort(ctx, vm.name, Boolean(port));
  return { ...vm, ssh_host_port: stored.ssh_host_port };
}

function runBackend(
  b: Hypervisor,
  action: Transition,
  vm: VmRecord,
  ctx: VmContext,
  opts: TransitionOptions,
  savedTag?: string,
): Promise<VmRecord> {
  switch (action) {
    case "start":
      return b.start(vm, ctx, {
        ...(opts.accel ? { accel: opts.accel } : {}),
        ...(opts.savedState === "resume" && savedTag ? { loadvm: savedTag } : {}),
      });
    case "stop":
      return b.stop(vm, opts.timeoutMs ?? STOP_TIMEOUT_MS, ctx, { quit: opts.save });
    case "suspend":
      return b.suspend(vm, ctx);
    case "resume":
      return b.resume(vm, ctx);
  }
}

/**
 * The plan to destroy `rec`: stop it if it runs, release backend resources,
 * remove its work dir (only if inside the data dir) and its store entry. A
 * failure keeps the record (state failed) so the user can retry.
 */
export function destroyPlan(
  ctx: VmContext,
  backend: Hypervisor,
  rec: VmRecord,
  opts: { timeoutMs?: number; say?: (line: string) => void } = {},
): Plan {
  assertInside(ctx.paths.vmsDir, rec.work_dir);
  const name = rec.name;
  const held: Held = {};
  return plan(`destroy VM '${name}'`, [
    claimStep(ctx, backend, name, "destroy", held),
    backendStep(
      `stop VM '${name}' if it runs`,
      `${backend.tag} backend: stop (its live state is read when the step runs)`,
      "destroy",
      held,
      (vm) => {
        if (vm.state !== "running" && vm.state !== "suspended") return Promise.resolve(vm);
        opts.say?.(`stopping VM '${name}' first`);
        return backend.stop(vm, opts.timeoutMs ?? STOP_TIMEOUT_MS, ctx);
      },
    ),
    backendStep(
      `release what the ${backend.tag} backend holds for VM '${name}'`,
      `${backend.tag} backend: destroy`,
      "destroy",
      held,
      (vm) => backend.destroy(vm, ctx),
    ),
    {
      title: "remove the work directory",
      action: { kind: "remove", path: rec.work_dir },
      run: async () => {
        try {
          await removeWorkDir(ctx, held.vm!.work_dir);
        } catch (err) {
          held.vm = failed(held.vm!, "destroy", err);
          throw err;
        }
      },
    },
    storeStep(
      `unregister VM '${name}'`,
      ctx.paths.storeFile,
      `remove VM '${name}'`,
      async () => {
        await removeRecord(ctx, name, held.vm!.id);
        held.vm = undefined;
      },
    ),
  ]);
}

/** `vmctl start|stop|suspend|resume NAME`: the backend is the one its record names. */
export async function transitionCourse(
  ctx: VmContext,
  name: string,
  action: Transition,
  opts: Omit<TransitionOptions, "savedState"> & { fresh?: boolean } = {},
): Promise<Course> {
  const stored = requireRecord(await readStore(ctx.paths), name);
  const backend = await backendFor(stored.backend);
  if (action === "suspend" || action === "resume") {
    const refusal = backend.refuses?.(action, name);
    if (refusal) throw refusal;
  }
  const { fresh, ...rest } = opts;
  const savedState = action === "start" ? savedStateMode(stored, fresh) : undefined;
  const p = transitionPlan(ctx, backend, name, action, {
    ...rest,
    savedState,
    planned: stored,
  });
  return { stages: [planStage(ctx, p, () => `VM '${name}' ${TRANSITIONS[action].done}`)] };
}

/** `vmctl destroy NAME`. */
export async function destroyCourse(
  ctx: VmContext,
  name: string,
  opts: { timeoutMs?: number } = {},
): Promise<Course> {
  const stored = requireRecord(await readStore(ctx.paths), name);
  const backend = await backendFor(stored.backend);
  const p = destroyPlan(ctx, backend, stored, { ...opts, say: ctx.say });
  return { stages: [planStage(ctx, p, () => `VM '${name}' destroyed`)] };
}

/** Remove a VM's work dir; refuses anything not strictly inside the data dir's vms/. */
export async function removeWorkDir(ctx: VmContext, dir: string): Promise<void> {
  assertInside(ctx.paths.vmsDir, dir);
  try {
    await host.remove(dir, { recursive: true });
  } catch (err) {
    if (!(isNotFound(err))) throw err;
  }
}

/** Drop the store entry of `name` if it still has id `id`. */
export async function removeRecord(ctx: VmContext, name: string, id: string): Promise<void> {
  await updateStore(ctx.paths, (doc: StoreDoc) => {
    if (doc.vms[name]?.id === id) delete doc.vms[name];
  });
}
