/**
 * Provisioning: wait for the guest's SSH, then run the VM's `provision`
 * steps in order over the system ssh client, stopping at the first failure.
 *
 * - shell inline: the text runs in the SSH user's login shell;
 * - shell script: uploaded to a fresh unpredictable path in /tmp (created
 *   exclusively, mode 0700), executed, and removed whatever its outcome;
 * - file: uploaded to its destination keeping the local file's mode.
 *
 * Output streams to the terminal live (prefixed `name | ` when several VMs
 * run) and is appended to `<work_dir>/provision.log` with a header per step.
 *
 * @module
 */
import { PROVISION_READY_TIMEOUT_MS } from "../lib/defaults.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import type { VmRecord } from "../lib/types.ts";
import { vmFile } from "../lib/vm_files.ts";
import type { ProvisionStep, VmDef } from "../lib/vmfile/types.ts";
import type { BackendContext, Hypervisor } from "./hypervisor.ts";
import { backendFor } from "./router.ts";
import { runScriptCommand, type SshTarget } from "./ssh/args.ts";
import { SSH_ERROR_EXIT, sshUpload, streamSsh } from "./ssh/exec.ts";
import { sshTargetFor } from "./ssh/mod.ts";
import { waitForSsh } from "./ssh/readiness.ts";
import { LineSink, ProvisionLog } from "./ssh/output.ts";
import { host } from "../host/mod.ts";

export interface ProvisionOptions {
  ctx: BackendContext;
  /** The VM's backend, when the caller resolved it already. */
  backend?: Hypervisor;
  /** Budget for SSH readiness (default 120 s). */
  timeoutMs?: number;
  /** Prefix output lines with the VM name (several VMs in one run). */
  prefixOutput?: boolean;
}

/** Default SSH readiness budget for provisioning (the book: 120 s). */

/** Wait for SSH, then run `def.provision` in order on `vm`; throws at the first failure. */
export async function provisionVm(vm: VmRecord, def: VmDef, o: ProvisionOptions): Promise<void> {
  const steps = def.provision;
  // Shared folders are mounted before sshd starts: waiting for SSH waits for them.
  if (steps.length === 0 && def.mounts.length === 0) return;
  await checkLocalSources(steps);
  const { target } = await sshTargetFor(vm, o.ctx, {
    vmfileUser: def.ssh?.user,
    vmfileKey: def.ssh?.privateKeyPath,
  });
  const out = new LineSink(o.prefixOutput ? vm.name : undefined);
  const backend = o.backend ?? await backendFor(vm.backend);
  await runProvisioners(target, vm, steps, {
    timeoutMs: o.timeoutMs,
    out,
    vmGone: () => vmGoneReason(backend, vm, o.ctx),
  });
}

/** The VM fields provisioning uses. */
export type ProvisionVm = Pick<VmRecord, "name" | "work_dir" | "console_log">;

/**
 * Wait for `target` (budget `timeoutMs`, default 120 s), then run `steps` in
 * order; throws `vmctl::provision::step_failed` at the first failure. `out`
 * receives the live output (default: this process's stdout/stderr).
 */
export async function runProvisioners(
  target: SshTarget,
  vm: ProvisionVm,
  steps: ProvisionStep[],
  o: { timeoutMs?: number; out?: LineSink; vmGone?: () => Promise<string | undefined> } = {},
): Promise<void> {
  const out = o.out ?? new LineSink();
  const timeoutMs = o.timeoutMs ?? PROVISION_READY_TIMEOUT_MS;
  out.info(`Waiting for SSH on ${target.host}:${target.port} (up to ${timeoutMs / 1000} s)...`);
  const ready = await waitForSsh(target, {
    timeoutMs,
    consoleLog: vm.console_log ?? undefined,
    vmGone: o.vmGone,
  });
  out.info(`SSH ready after ${(ready.elapsedMs / 1000).toFixed(1)} s`);
  if (steps.length === 0) return;

  const logFile = await ProvisionLog.open(vmFile(vm.work_dir, "provisionLog"));
  try {
    for (const [i, step] of steps.entries()) {
      const n = i + 1;
      const label = stepLabel(step);
      out.info(`[${n}/${steps.length}] ${label}`);
      await logFile.header(n, steps.length, label);
      const t0 = performance.now();
      const code = await runStep(target, step, out, logFile);
      const secs = ((performance.now() - t0) / 1000).toFixed(2);
      await logFile.footer(n, code.code, secs);
      if (code.code !== 0) throw stepFailed(vm, step, n, steps.length, code, logFile.path);
    }
  } finally {
    out.flush();
    logFile.close();
  }
  out.info(`VM '${vm.name}' provisioned (${steps.length} step${steps.length === 1 ? "" : "s"})`);
}

/** Why `vm` can no longer boot to SSH (its backend says it is not running), or undefined. */
export async function vmGoneReason(
  backend: Hypervisor,
  vm: VmRecord,
  ctx: BackendContext,
): Promise<string | undefined> {
  const live = await backend.state(vm, ctx);
  if (live.state === "running") return undefined;
  return `it is ${live.state}${live.reason ? ` (${live.reason})` : ""}`;
}

/** Human label for a step: kind plus what it runs. */
export function stepLabel(step: ProvisionStep): string {
  if (step.kind === "file") return `file ${step.source} -> ${step.destination}`;
  if ("inline" in step) return `shell inline: ${step.inline}`;
  return `shell script: ${step.script}`;
}

function stepKind(step: ProvisionStep): string {
  return step.kind === "file" ? "file" : "inline" in step ? "shell inline" : "shell script";
}

/** The remote command line a step runs. */
function remoteCommandFor(step: ProvisionStep): string {
  if (step.kind === "file") return `upload ${step.source} -> ${step.destination}`;
  if ("inline" in step) return step.inline;
  return runScriptCommand();
}

interface StepResult {
  code: number;
  stderrTail: string;
}

async function runStep(
  t: SshTarget,
  step: ProvisionStep,
  out: LineSink,
  logFile: ProvisionLog,
): Promise<StepResult> {
  const onStdout = (c: Uint8Array) => {
    out.stdout(c);
    logFile.write(c);
  };
  const onStderr = (c: Uint8Array) => {
    out.stderr(c);
    logFile.write(c);
  };
  if (step.kind === "file") {
    try {
      await sshUpload(t, step.source, step.destination);
    } catch (err) {
      if (!(err instanceof Diagnostic)) throw err;
      const text = [err.message, ...err.details].join("\n") + "\n";
      onStderr(new TextEncoder().encode(text));
      return { code: 1, stderrTail: text };
    }
    logFile.write(new TextEncoder().encode(`uploaded ${step.source} -> ${step.destination}\n`));
    return { code: 0, stderrTail: "" };
  }
  if ("inline" in step) {
    const r = await streamSsh(t, step.inline, { onStdout, onStderr });
    return { code: r.code, stderrTail: r.stderrTail };
  }
  const r = await streamSsh(t, remoteCommandFor(step), {
    stdin: { file: step.script },
    onStdout,
    onStderr,
  });
  return { code: r.code, stderrTail: r.stderrTail };
}

/** Every script and file source must exist before the guest is touched. */
async function checkLocalSources(steps: ProvisionStep[]): Promise<void> {
  for (const [i, step] of steps.entries()) {
    const path = step.kind === "file" ? step.source : "script" in step ? step.script : undefined;
    if (path === undefined) continue;
    const st = await host.stat(path).catch(() => undefined);
    if (!st?.isFile) {
      throw new Diagnostic(
        "vmctl::provision::source_missing",
        `provision step ${i + 1} (${stepKind(step)}): ${path} ${
          st ? "is not a regular file" : "does not exist"
        }`,
        {
          span: step.span,
          hint: "paths in provision steps are relative to the VMFile's directory",
        },
      );
    }
  }
}

function stepFailed(
  vm: ProvisionVm,
  step: ProvisionStep,
  n: number,
  total: number,
  r: StepResult,
  logPath: string,
): Diagnostic {
  const sshOwn = r.code === SSH_ERROR_EXIT && step.kind !== "file";
  const later = n < total ? `; steps ${n + 1}-${total} did not run` : "";
  return new Diagnostic(
    "vmctl::provision::step_failed",
    `provision step ${n} of ${total} (${
      stepKind(step)
    }) on '${vm.name}' failed with exit code ${r.code}${later}`,
    {
      span: step.span,
      hint: sshOwn
        ? `exit code 255 is also ssh's own failure code (lost connection?); output is in ${logPath}`
        : `fix the step and run \`vmctl provision\`; the full output is in ${logPath}`,
      details: r.stderrTail.trimEnd().split("\n").filter((l) => l !== "").slice(-10),
    },
  );
}
