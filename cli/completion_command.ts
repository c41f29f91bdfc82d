/**
 * `completion bash|zsh|fish` (the script, printed) and the hidden
 * `__complete WHAT` the script calls for live names; registered on vmctl and
 * on zmgr, each script completing the program it was printed by.
 *
 * @module
 */
import { Argument, type Command } from "@commander-js/extra-typings";
import { SHELLS } from "../lib/completion.ts";

/** The program a command belongs to. */
// deno-lint-ignore no-explicit-any
function rootOf(cmd: Command<any, any, any>): Command<any, any, any> {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/** Registers `completion` and the hidden `__complete` on `program`. */
// deno-lint-ignore no-explicit-any
export function registerCompletionCommands(program: Command<any, any, any>): void {
  program
    .command("completion")
    .description("print the shell completion script (e.g. `source <(vmctl completion bash)`)")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action(async (shell, _opts, cmd) => {
      const [{ completionScript }, { completionTree }] = await Promise.all([
        import("../lib/completion.ts"),
        import("./completion/tree.ts"),
      ]);
      const root = rootOf(cmd);
      console.log(completionScript(shell, root.name(), completionTree(root)).trimEnd());
    });
  program
    .command("__complete", { hidden: true })
    .description("print live names for the completion scripts")
    .argument("[what]", "vms, images, zones, pools, templates or publishers")
    .option("--root <dir>", "zone registry directory")
    .action(async (what, opts) => {
      const { completeCommand } = await import("./completion/names.ts");
      await completeCommand(
        what === undefined ? [] : [what, ...(opts.root ? ["--root", opts.root] : [])],
      );
    });
}
