/**
 * Shell completion scripts (bash, zsh, fish) generated from a plain
 * description of the command tree (cli/completion/tree.ts derives it from the
 * commander program, so the commands and options completed are the ones the
 * program parses). The tree is written into the script as tables; live names
 * (VMs, images, zones, pools, templates, publishers) come from the hidden
 * `PROGRAM __complete WHAT [--root DIR]`, run by the script at TAB time.
 *
 * The scripts walk the words typed so far the same way in every shell: a
 * word that names a subcommand of the current command descends into it, an
 * option that takes a value swallows the next word (a `--root DIR` is kept
 * and passed on, so zone names come from the registry the command will use),
 * any other word is a positional argument.
 *
 * @module
 */

/** The kinds of live names `__complete` prints. */
export const NAME_KINDS = ["vms", "images", "zones", "pools", "templates", "publishers"] as const;
export type NameKind = typeof NAME_KINDS[number];

/** What completes a value: live names, paths, fixed words, or nothing. */
export type ValueSource =
  | { names: NameKind }
  | { paths: "files" | "dirs" }
  | { words: string[] }
  | { none: true };

export interface CompletionOption {
  /** Every spelling (`-n`, `--tail`). */
  flags: string[];
  /** The value it takes, if it takes one. */
  value?: ValueSource;
}

/** One command of the tree: `path` from the program name down (`["vmctl", "image", "pull"]`). */
export interface CompletionCommand {
  path: string[];
  subcommands: string[];
  options: CompletionOption[];
  /** What each positional argument takes, in order. */
  args: ValueSource[];
}

export type Shell = "bash" | "zsh" | "fish";
export const SHELLS: Shell[] = ["bash", "zsh", "fish"];

/** The completion script of `program` for `shell`. */
export function completionScript(shell: Shell, program: string, tree: CompletionCommand[]): string {
  const t = tables(tree);
  if (shell === "fish") return fishScript(program, t);
  return shell === "bash" ? bashScript(program, t) : zshScript(program, t);
}

/** The tree as key -> text tables, the form every script embeds. */
interface Tables {
  /** Command path -> its subcommands, space separated. */
  cmds: Map<string, string>;
  /** Command path -> its long options (short ones when a flag has no long spelling). */
  opts: Map<string, string>;
  /** Command path -> every spelling of the options that take a value. */
  valopts: Map<string, string>;
  /** `PATH --opt` or `PATH #N` -> `@vms`, `@files`, `@dirs` or words. */
  vals: Map<string, string>;
}

function sourceText(s: ValueSource): string {
  if ("names" in s) return `@${s.names}`;
  if ("paths" in s) return `@${s.paths}`;
  if ("words" in s) return s.words.join(" ");
  return "";
}

function tables(tree: CompletionCommand[]): Tables {
  const t: Tables = { cmds: new Map(), opts: new Map(), valopts: new Map(), vals: new Map() };
  for (const c of tree) {
    const key = c.path.join(" ");
    t.cmds.set(key, c.subcommands.join(" "));
    t.opts.set(
      key,
      c.options.map((o) => o.flags.find((f) => f.startsWith("--")) ?? o.flags[0]).join(" "),
    );
    t.valopts.set(key, c.options.filter((o) => o.value).flatMap((o) => o.flags).join(" "));
    for (const o of c.options) {
      const text = o.value ? sourceText(o.value) : "";
      if (text) { for (const f of o.flags) t.vals.set(`${key} ${f}`, text); }
    }
    c.args.forEach((a, i) => {
      const text = sourceText(a);
      if (text) t.vals.set(`${key} #${i + 1}`, text);
    });
  }
  return t;
}

/** A string in single quotes for bash, zsh and fish (names and flags never hold a quote). */
function quote(s: string): string {
  if (s.includes("'")) throw new Error(`completion text holds a quote: ${s}`);
  return `'${s}'`;
}

/** A shell-safe function name part for `program`. */
function ident(program: string): string {
  return program.replace(/[^A-Za-z0-9_]/g, "_");
}

function bashArray(name: string, m: Map<string, string>): string {
  const rows = [...m].map(([k, v]) => `  [${quote(k)}]=${quote(v)}`);
  return `typeset -gA ${name}\n${name}=(\n${rows.join("\n")}\n)`;
}

/** bash, and zsh through bashcompinit: the same function (zsh runs it with sh options). */
/**
 * bash, and zsh through bashcompinit: the same function (zsh runs it with sh options). The
 * command path is kept in \`at\`: zsh ties \`path\` to PATH.
 */
function bashBody(program: string, t: Tables): string {
  const p = `_${ident(program)}`;
  return `${bashArray(`${p}_cmds`, t.cmds)}
${bashArray(`${p}_opts`, t.opts)}
${bashArray(`${p}_valopts`, t.valopts)}
${bashArray(`${p}_vals`, t.vals)}

${p}_has() { [[ " $1 " == *" $2 "* ]]; }

${p}_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" at=${quote(program)} opt="" pos=0 word i src
  local -a root=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n $opt ]]; then
      [[ $word == "=" ]] && continue
      [[ $opt == --root ]] && root=(--root "$word")
      opt=""
    elif [[ $word == -* ]]; then
      ${p}_has "\${${p}_valopts[$at]}" "$word" && opt="$word"
    elif ((pos == 0)) && ${p}_has "\${${p}_cmds[$at]}" "$word"; then
      at="$at $word"
    else
      pos=$((pos + 1))
    fi
  done
  [[ $cur == "=" ]] && cur=""
  COMPREPLY=()
  if [[ -n $opt ]]; then
    src="\${${p}_vals[$at $opt]}"
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${${p}_opts[$at]}" -- "$cur"))
    return 0
  else
    ((pos == 0)) && COMPREPLY=($(compgen -W "\${${p}_cmds[$at]}" -- "$cur"))
    src="\${${p}_vals[$at #$((pos + 1))]}"
  fi
  case $src in
    @files | @dirs)
      [[ $(type -t compopt) == builtin ]] && compopt -o filenames 2>/dev/null
      if [[ $src == @dirs ]]; then
        COMPREPLY+=($(compgen -d -- "$cur"))
      else
        COMPREPLY+=($(compgen -f -- "$cur"))
      fi
      ;;
    @*) COMPREPLY+=($(compgen -W "$("\${COMP_WORDS[0]}" __complete "\${src#@}" "\${root[@]}" 2>/dev/null)" -- "$cur")) ;;
    *) COMPREPLY+=($(compgen -W "$src" -- "$cur")) ;;
  esac
  return 0
}
complete -F ${p}_complete ${program}
`;
}

function bashScript(program: string, t: Tables): string {
  return `# bash completion for ${program}, generated by \`${program} completion bash\`.
# Load it in ~/.bashrc:  source <(${program} completion bash)
${bashBody(program, t)}`;
}

function zshScript(program: string, t: Tables): string {
  return `# zsh completion for ${program}, generated by \`${program} completion zsh\`.
# Load it in ~/.zshrc:  source <(${program} completion zsh)
# It is the bash completion, run through zsh's bashcompinit.
autoload -Uz compinit bashcompinit
(( \${+functions[compdef]} )) || compinit -u
bashcompinit
${bashBody(program, t)}`;
}

function fishSwitch(table: string, m: Map<string, string>): string[] {
  return [...m].filter(([, v]) => v !== "").map(([k, v]) =>
    `        case ${quote(`${table}:${k}`)}\n            echo ${quote(v)}`
  );
}

function fishScript(program: string, t: Tables): string {
  const p = `__${ident(program)}`;
  const cases = [
    ...fishSwitch("cmds", t.cmds),
    ...fishSwitch("opts", t.opts),
    ...fishSwitch("valopts", t.valopts),
    ...fishSwitch("vals", t.vals),
  ];
  return `# fish completion for ${program}, generated by \`${program} completion fish\`.
# Load it:  ${program} completion fish | source
# (or save it as ~/.config/fish/completions/${program}.fish)
function ${p}_table --argument-names key
    switch $key
${cases.join("\n")}
    end
end

function ${p}_words --argument-names key
    string split -n ' ' -- (${p}_table $key)
end

function ${p}_candidates
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l path ${quote(program)}
    set -l opt ''
    set -l pos 0
    set -l root
    for word in $words[2..-1]
        if test -n "$opt"
            test "$opt" = --root; and set root --root $word
            set opt ''
        else if string match -q -- '-*' $word
            contains -- $word (${p}_words "valopts:$path"); and set opt $word
        else if test $pos -eq 0; and contains -- $word (${p}_words "cmds:$path")
            set path "$path $word"
        else
            set pos (math $pos + 1)
        end
    end
    set -l src
    if test -n "$opt"
        set src (${p}_table "vals:$path $opt")
    else if string match -q -- '-*' $cur
        ${p}_words "opts:$path"
        return
    else
        test $pos -eq 0; and ${p}_words "cmds:$path"
        set src (${p}_table "vals:$path #"(math $pos + 1))
    end
    switch "$src"
        case @files
            __fish_complete_path $cur
        case @dirs
            __fish_complete_directories $cur
        case '@*'
            $words[1] __complete (string sub -s 2 -- $src) $root 2>/dev/null
        case '*'
            string split -n ' ' -- $src
    end
end

complete -c ${program} -f -a '(${p}_candidates)'
`;
}
