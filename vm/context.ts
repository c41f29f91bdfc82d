/**
 * What every VM operation is handed: where state lives, the one runner, where
 * progress lines go, and how a second Ctrl+C quits at once (cli/run.ts
 * provides it; nothing below cli/ ends the process).
 *
 * @module
 */
import type { BackendContext } from "../backends/hypervisor.ts";

export interface VmContext extends BackendContext {
  /** Plans are rendered, not applied; nothing is written (not even a reconciled state). */
  dryRun: boolean;
  /** With `dryRun`: the plans are printed as one JSON document instead of text. */
  planJson?: boolean;
  /** Prints one line of progress (stdout). */
  say: (line: string) => void;
  /** Called on a second interrupt while a plan is being undone. */
  forceQuit?: () => void;
}
