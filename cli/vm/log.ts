/**
 * `vmctl log NAME [--console] [--provision] [--tail N]`: print the console
 * and/or provision log from the VM's work dir. Bytes are copied as they are
 * (a console log may hold anything); `--tail` splits on newlines.
 *
 * @module
 */
import { Diagnostic, toDiagnostics } from "../../lib/diagnostics.ts";
import { assertInside } from "../../lib/paths.ts";
import { readStore, requireRecord } from "../../lib/store.ts";
import { intOption, opsContext, vmNameArg } from "../common.ts";
import { vmFile } from "../../lib/vm_files.ts";
import { host, isNotFound } from "../../host/mod.ts";
import { backendFor } from "../../backends/router.ts";
import type { BackendContext, Hypervisor } from "../../backends/hypervisor.ts";
import type { VmRecord } from "../../lib/types.ts";
import { log } from "../../lib/log.ts";

/** The last `n` lines of `data` (all of it for n = 0). */
export function tailBytes(data: Uint8Array, n: number): Uint8Array {
  if (n === 0) return data;
  let end = data.length;
  if (end > 0 && data[end - 1] === 0x0a) end--; // a final newline does not start a line
  let seen = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (data[i] === 0x0a && ++seen === n) return data.subarray(i + 1);
  }
  return data;
}

/** The action of `vmctl log`. */
export async function logCommand(
  name: string,
  opts: { console?: boolean; provision?: boolean; tail?: string },
): Promise<void> {
  vmNameArg(name);
  const n = intOption(opts.tail, "--tail", { min: 0, max: 10_000_000 }) ?? 0;
  const ctx = opsContext();
  const rec = requireRecord(await readStore(ctx.paths), name);
  assertInside(ctx.paths.vmsDir, rec.work_dir);
  const consoleLog = rec.console_log ?? vmFile(rec.work_dir, "consoleLog");
  assertInside(ctx.paths.vmsDir, consoleLog); // a hand-edited record must not make us read elsewhere
  const both = opts.console === opts.provision; // neither or both flags: show both logs
  if (both || opts.console) await captureConsoleOf(rec, ctx);
  const wanted = [
    ...(both || opts.console ? [["console", consoleLog]] : []),
    ...(both || opts.provision ? [["provision", vmFile(rec.work_dir, "provisionLog")]] : []),
  ] as [string, string][];
  const found: [string, string, Uint8Array][] = [];
  const missing: string[] = [];
  for (const [label, path] of wanted) {
    try {
      found.push([label, path, await host.readFile(path)]);
    } catch (err) {
      if (!(isNotFound(err))) throw err;
      missing.push(label);
    }
  }
  if (found.length === 0) {
    throw new Diagnostic(
      "vmctl::log::not_found",
      `VM '${name}' has no ${missing.join(" or ")} log yet`,
      {
        hint: missing.includes("console")
          ? `the console log appears once the VM has been started (\`vmctl start ${name}\`)`
          : `the provision log appears once provisioners have run (\`vmctl provision\`)`,
      },
    );
  }
  const enc = new TextEncoder();
  for (const label of missing) console.error(`(no ${label} log yet for VM '${name}')`);
  for (const [label, path, data] of found) {
    if (found.length > 1 || missing.length > 0) {
      await writeAll(enc.encode(`=== ${label} log (${path}) ===\n`));
    }
    const body = tailBytes(data, n);
    await writeAll(body);
    if (body.length && body[body.length - 1] !== 0x0a) await writeAll(enc.encode("\n"));
  }
}

/**
 * Save what a running VM's hypervisor keeps of its console into the console
 * log first, when the backend keeps it itself (Propolis). A failure is a
 * warning: the log saved so far is still shown.
 */
export async function captureConsoleOf(
  rec: VmRecord,
  ctx: BackendContext,
  pick: (tag: string) => Promise<Hypervisor> = backendFor,
): Promise<void> {
  try {
    const backend = await pick(rec.backend);
    if (!backend.captureConsole) return;
    if ((await backend.state(rec, ctx)).state !== "running") return;
    await backend.captureConsole(rec, ctx);
  } catch (err) {
    const d = toDiagnostics(err)[0];
    const hint = d.hint ? `; ${d.hint}` : "";
    log.warn(
      `showing the saved console log: the latest output of VM '${rec.name}' could not be saved (${d.code}: ${d.message}${hint})`,
    );
  }
}

async function writeAll(data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await host.stdout.write(data.subarray(off));
}
