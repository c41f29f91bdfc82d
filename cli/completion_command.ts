/**
 * `completion bash|zsh|fish` (the script, printed) and the hidden
 * `__complete WHAT` the script calls for live names. Registered on vmctl and
 * on zmgr, each script completing the program it was printed by; and on
 * `vmctl zone`, printing zmgr's script for the zmgr launcher that runs
 * `main.ts zone "$@"` (docs/zones.md).
 *
 * @module
 */
import { Argument, type Command } from "@commander-js/extra-typings";
import { SHELLS } from "../lib/completion.ts";

/**
 * Registers `completion` and the hidden `__complete` on `tree`, the command whose tree the
 * script completes, under the program name `program` (default: the command's own name).
 */
// deno-lint-ignore no-explicit-any
export function registerCompletionCommands(tree: Command<any, any, any>, program?: string): void {
  const name = program ?? tree.name();
  tree
    .command("completion")
    .description(`print ${name}'s shell completion script (\`source <(${name} completion bash)\`)`)
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action(async (shell) => {
      const [{ completionScript }, { completionTree }] = await Promise.all([
        import("../lib/completion.ts"),
        import("./completion/tree.ts"),
      ]);
      console.log(completionScript(shell, name, completionTree(tree, name)).trimEnd());
    });
  tree
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
