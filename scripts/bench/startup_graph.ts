/**
 * Which modules a command evaluates at start-up: the static (non-dynamic,
 * non-type-only) import closure of its entry points, from `deno info --json`.
 * Used by the list benchmark and the start-up test to prove `vmctl list`
 * loads neither the KDL parser nor other commands' implementations.
 *
 * @module
 */

interface InfoDep {
  specifier: string;
  code?: { specifier?: string };
  isDynamic?: boolean;
}
interface InfoModule {
  specifier: string;
  dependencies?: InfoDep[];
}

/** The static runtime closure of `entries` (file URLs or npm specifiers). */
export async function staticClosure(root: string, entries: string[]): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", ...entries.slice(0, 1)],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: InfoModule[];
    redirects: Record<string, string>;
  };
  const byId = new Map(info.modules.map((m) => [m.specifier, m]));
  const norm = (s: string) => info.redirects[s] ?? s;
  const seen = new Set<string>();
  const todo = entries.map((e) => norm(e));
  while (todo.length) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of byId.get(s)?.dependencies ?? []) {
      if (!d.isDynamic && d.code?.specifier) todo.push(norm(d.code.specifier));
    }
  }
  return seen;
}
