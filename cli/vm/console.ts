/**
 * `vmctl console NAME`: attach to the serial console the backend exposes.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import { readStore, requireRecord } from "../../lib/store.ts";
import { backendFor } from "../../backends/router.ts";
import { opsContext, vmNameArg } from "../common.ts";

/** The action of `vmctl console`. */
export async function consoleCommand(name: string): Promise<void> {
  vmNameArg(name);
  const ctx = opsContext();
  const rec = requireRecord(await readStore(ctx.paths), name);
  const backend = await backendFor(rec.backend);
  const ep = backend.consoleEndpoint(rec);
  if (ep.kind === "none") {
    throw new Diagnostic(
      "vmctl::console::unavailable",
      `VM '${name}' has no console: ${ep.reason}`,
      {
        hint: `\`vmctl log ${name} --console\` shows what was captured, if anything`,
      },
    );
  }
  const live = await backend.state(rec, ctx);
  if (live.state !== "running" && live.state !== "suspended") {
    throw new Diagnostic(
      "vmctl::console::not_running",
      `VM '${name}' is ${live.state}, so its console is closed`,
      {
        hint:
          `start it with \`vmctl start ${name}\`, or read the last boot with \`vmctl log ${name} --console\``,
      },
    );
  }
  if (ep.kind === "websocket") {
    const { attachSerial } = await import("../../backends/propolis/serial.ts");
    await attachSerial(ep.url);
    return;
  }
  const { attachConsole } = await import("../../backends/qemu/console.ts");
  await attachConsole(ep.path);
}
