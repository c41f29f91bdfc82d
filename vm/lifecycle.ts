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
import { pidAlive } from "../backends/proc.ts";
import { storeStep, taskStep } from "../backends/apply.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import { assertInside } from "../lib/paths.ts";
import { type Plan, plan, type Step } from "../lib/plan.ts";
import { busyHolder, readStore, requireRecord, type StoreDoc, updateStore } from "../lib/store.ts";
import {
  type Accel,
  VM_STATES,
  type VmOperation,
  type VmRecord,
  type VmState,
} from "../lib/types.ts";
import type { Hypervisor } from "../backends/hypervisor.ts";
import { backendFor } from "../backends/router.ts";
import type { VmContext } from "./context.ts";
import { type Course, planStage } from "./course.ts";
import { withLive } from "./reconcile.ts";
import { assignSshPort } from "./ports.ts";

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

function busyError(name: string, op: VmOperation): Diagnostic {
  return new Diagnostic(
    "vmctl::vm::busy",
    `VM '${name}' is busy: another vmctl (pid ${op.pid}) is running \`${op.action}\` on it`,
    { hint: "wait for it to finish, then try again" },
  );
}

/**
 * Mark `name` busy for `action` under the store lock and return the fresh
 * record; refuses when another live vmctl holds it.
 */
export async function claim(ctx: VmContext, name: string, action: string): Promise<VmRecord> {
  return await updateStore(ctx.paths, (doc) => {
    const rec = requireRecord(doc, name);
    const holder = busyHolder(rec, pidAlive);
    if (holder) throw busyError(name, holder);
    const op: VmOperation = { pid: Deno.pid, action, started_at: new Date().toISOString() };
    doc.vms[name] = { ...rec, operation: op };
    return doc.vms[name];
  });
}

/** Store `next` for the VM `id` (unless it was destroyed meanwhile) and clear the busy mark. */
export async function release(ctx: VmContext, next: VmRecord): Promise<VmRecord> {
  return await updateStore(ctx.paths, (doc) => {
    const cur = doc.vms[next.name];
    if (!cur || cur.id !== next.id) return next;
    const rest: VmRecord = { ...next };
    delete rest.operation;
    doc.vms[next.name] = rest;
    return doc.vms[next.name];
  });
}

/** The record after `action` failed: state failed, the reason kept for `status`. */
export function failed(vm: VmRecord, action: string, err: unknown): VmRecord {
  const msg = err instanceof Error ? err.message : String(err);
  return { ...vm, state: "failed", state_reason: `${action} failed: ${msg}` };
}

/** The record a transition plan carries from step to step. */
interface Held {
  vm?: VmRecord;
}

/**
 * The first step of every transition: mark the VM busy, read its live state,
 * check `allowed` (when given). Its undo stores the VM as the later steps left
 * it (failed, with the reason) and clears the mark.
 */
function claimStep(
  ctx: VmContext,
  backend: Hypervisor,
  name: string,
  action: Transition | "destroy",
  held: Held,
): Step {
  const allowed = action === "destroy" ? undefined : ALLOWED_FROM[action];
  const check = allowed ? `; its live state must be ${allowed.join(", ")}` : "";
  return storeStep(
    `mark VM '${name}' busy (${action})`,
    ctx.paths.storeFile,
    `VM '${name}': operation ${action} by this vmctl${check}`,
    async () => {
      const claimed = await claim(ctx, name, action);
      held.vm = claimed;
      try {
        held.vm = withLive(claimed, await backend.state(claimed, ctx));
        if (allowed && !allowed.includes(held.vm.state)) {
          throw invalidState(name, held.vm.state, action as Transition);
        }
      } catch (err) {
        await release(ctx, held.vm);
        throw err;
      }
    },
    {
      action: { kind: "store", file: ctx.paths.storeFile, change: `VM '${name}': clear the mark` },
      run: () => release(ctx, held.vm!),
    },
  );
}

/** A step calling the backend on the held VM; a failure leaves it `failed` with the reason. */
function backendStep(
  title: string,
  detail: string,
  action: string,
  held: Held,
  call: (vm: VmRecord) => Promise<VmRecord | void>,
): Step {
  return taskStep(title, detail, async () => {
    try {
      held.vm = (await call(held.vm!)) ?? held.vm;
    } catch (err) {
      held.vm = failed(held.vm!, action, err);
      throw err;
    }
  });
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
  const how = action !== "start" ? "" : [
    opts.accel ? ` (accelerator ${opts.accel})` : "",
    opts.newPort ? "; first a new SSH port, recorded" : "",
  ].join("");
  return plan(`${action} VM '${name}'`, [
    claimStep(ctx, backend, name, action, held),
    backendStep(
      `${action} VM '${name}'`,
      `${backend.tag} backend: ${action}${how}`,
      action,
      held,
      async (vm) => {
        if (action === "start") vm = await withSshPort(ctx, vm, opts.newPort === true);
        return await runBackend(
          backend,
          action,
          vm,
          ctx,
          opts.timeoutMs ?? STOP_TIMEOUT_MS,
          opts.accel,
        );
      },
    ),
    storeStep(
      `record VM '${name}' ${edge.to}`,
      ctx.paths.storeFile,
      `VM '${name}': state ${edge.to}, clear the mark`,
      async () => held.vm = await release(ctx, held.vm!),
    ),
  ]);
}

/** Options of a transition: stop timeout, start's accelerator and `--new-port`. */
export interface TransitionOptions {
  timeoutMs?: number;
  accel?: Accel;
  /** start: choose and record a new SSH port first. */
  newPort?: boolean;
}

/** `vm` with the SSH port it starts on: a new one when asked, one if it has none (older records). */
async function withSshPort(ctx: VmContext, vm: VmRecord, fresh: boolean): Promise<VmRecord> {
  if (vm.network.type !== "user" || (vm.ssh_host_port && !fresh)) return vm;
  const stored = await assignSshPort(ctx, vm.name, fresh);
  return { ...vm, ssh_host_port: stored.ssh_host_port };
}

function runBackend(
  b: Hypervisor,
  action: Transition,
  vm: VmRecord,
  ctx: VmContext,
  timeoutMs: number,
  accel?: Accel,
): Promise<VmRecord> {
  switch (action) {
    case "start":
      return b.start(vm, ctx, accel ? { accel } : undefined);
    case "stop":
      return b.stop(vm, timeoutMs, ctx);
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
  opts: TransitionOptions = {},
): Promise<Course> {
  const stored = requireRecord(await readStore(ctx.paths), name);
  const p = transitionPlan(ctx, await backendFor(stored.backend), name, action, opts);
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
    await Deno.remove(dir, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Drop the store entry of `name` if it still has id `id`. */
export async function removeRecord(ctx: VmContext, name: string, id: string): Promise<void> {
  await updateStore(ctx.paths, (doc: StoreDoc) => {
    if (doc.vms[name]?.id === id) delete doc.vms[name];
  });
}
