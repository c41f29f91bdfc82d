/**
 * `vmctl start|stop|suspend|resume|destroy NAME`: thin wrappers over the
 * shared transitions, printing one line each.
 *
 * @module
 */
import { ACCELS } from "../../lib/types.ts";
import { choiceOption, opsContext, timeoutOption, vmNameArg } from "../common.ts";
import { destroyVm, type Transition, transition } from "./transitions.ts";

const DONE: Record<Transition, string> = {
  start: "started",
  stop: "stopped",
  suspend: "suspended",
  resume: "resumed",
};

/** The action of `vmctl start|stop|suspend|resume NAME`. */
export async function transitionCommand(
  action: Transition,
  name: string,
  opts: { timeout?: string; accel?: string } = {},
): Promise<void> {
  vmNameArg(name);
  const timeoutMs = timeoutOption(opts.timeout);
  const accel = choiceOption(opts.accel, "--accel", ACCELS);
  const ctx = opsContext();
  await transition(ctx, name, action, { timeoutMs, accel });
  ctx.say(`VM '${name}' ${DONE[action]}`);
}

/** The action of `vmctl destroy NAME`. */
export async function destroyCommand(name: string, opts: { timeout?: string }): Promise<void> {
  vmNameArg(name);
  const timeoutMs = timeoutOption(opts.timeout);
  const ctx = opsContext();
  await destroyVm(ctx, name, { timeoutMs, say: ctx.say });
  ctx.say(`VM '${name}' destroyed`);
}
