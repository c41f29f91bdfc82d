/**
 * The completion tree (lib/completion.ts) read from the commander program:
 * its commands, subcommands, options and arguments, so a command or option
 * added to the program is completed without another list to update.
 *
 * What a value is completed with comes from how the program describes it:
 * - choices (commander `.choices()`, or a description that starts `a | b | c`): those words;
 * - an argument described as a "VM name", "zone name", "pool name", "template name",
 *   "publisher name" or "cache name": the live names of that kind, except the name argument
 *   of a `create`/`add` command, which names something new;
 * - `--template <name>`, `--pool <name>`: templates, pools; an optional `--name <name>`
 *   (`up --name`): VMs (a mandatory one, `create --name`, names a new VM);
 * - a `<path>`, `<file>` or `<pubfile>` value: files; a `<dir>` value: directories.
 *
 * @module
 */
import type { Argument, Command, Option } from "@commander-js/extra-typings";
import type { CompletionCommand, NameKind, ValueSource } from "../../lib/completion.ts";

const ARG_NAMES: [RegExp, NameKind][] = [
  [/^VM name\b/, "vms"],
  [/^the VM\b/, "vms"],
  [/^zone name\b/, "zones"],
  [/^pool name\b/, "pools"],
  [/^template name\b/, "templates"],
  [/^publisher name\b/, "publishers"],
  [/\bcache name\b/, "images"],
];

const OPTION_NAMES: Record<string, NameKind> = {
  "--template": "templates",
  "--pool": "pools",
  "--name": "vms",
};

const NEW_NAME_COMMANDS = new Set(["create", "add"]);
const NONE: ValueSource = { none: true };

/** `a | b | c` at the start of a description: the values it allows. */
function describedChoices(description: string): string[] | undefined {
  const m = description.match(/^([a-z0-9-]+(?: \| [a-z0-9-]+)+)\b/);
  return m ? m[1].split(" | ") : undefined;
}

function placeholderPaths(flags: string): ValueSource | undefined {
  if (/<(path|file|pubfile)>/.test(flags)) return { paths: "files" };
  if (/<dir>/.test(flags)) return { paths: "dirs" };
  return undefined;
}

function argumentSource(cmd: Command, arg: Argument): ValueSource {
  if (arg.argChoices) return { words: arg.argChoices };
  if (NEW_NAME_COMMANDS.has(cmd.name())) return NONE;
  const kind = ARG_NAMES.find(([re]) => re.test(arg.description))?.[1];
  return kind ? { names: kind } : placeholderPaths(`<${arg.name()}>`) ?? NONE;
}

function optionSource(opt: Option): ValueSource {
  if (opt.argChoices) return { words: opt.argChoices };
  const words = describedChoices(opt.description);
  if (words) return { words };
  const kind = opt.long ? OPTION_NAMES[opt.long] : undefined;
  if (kind && !opt.mandatory) return { names: kind };
  return placeholderPaths(opt.flags) ?? NONE;
}

/** Every command of `root`'s tree, root first (named `program`), in definition order. */
export function completionTree(
  // deno-lint-ignore no-explicit-any
  root: Command<any, any, any>,
  program: string = root.name(),
): CompletionCommand[] {
  const out: CompletionCommand[] = [];
  // deno-lint-ignore no-explicit-any
  const visit = (cmd: Command<any, any, any>, path: string[]) => {
    const help = cmd.createHelp();
    const subs = help.visibleCommands(cmd) as Command[];
    out.push({
      path,
      subcommands: subs.map((s) => s.name()),
      options: help.visibleOptions(cmd).map((o) => ({
        flags: [o.short, o.long].filter((f): f is string => f !== undefined),
        value: o.required || o.optional ? optionSource(o) : undefined,
      })),
      args: (cmd.registeredArguments as Argument[]).map((a) => argumentSource(cmd, a)),
    });
    for (const sub of cmd.commands as Command[]) {
      if (!(sub as unknown as { _hidden: boolean })._hidden) visit(sub, [...path, sub.name()]);
    }
  };
  visit(root, [program]);
  return out;
}
