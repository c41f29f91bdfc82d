/**
 * The completion tree read from the real command tree (main.ts buildProgram):
 * the rules that give a value its live names hold for every command, so a
 * reworded argument description cannot silently lose its completion.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { buildProgram } from "../../main.ts";
import { completionTree } from "../../cli/completion/tree.ts";
import type { CompletionCommand } from "../../lib/completion.ts";

async function tree(program: "vmctl" | "zmgr"): Promise<CompletionCommand[]> {
  return completionTree(await buildProgram(program));
}

const at = (t: CompletionCommand[], path: string) => t.find((c) => c.path.join(" ") === path)!;

Deno.test("every command naming an existing VM, zone, pool or template completes those names", async () => {
  for (const [program, prefix] of [["vmctl", "vmctl "], ["zmgr", "zmgr "]] as const) {
    for (const c of await tree(program)) {
      const last = c.path[c.path.length - 1];
      if (["create", "add", "init", "help"].includes(last)) continue;
      const cmd = c.path.join(" ").slice(prefix.length);
      const first = c.args[0];
      if (!first || "words" in first || "paths" in first) continue;
      if (/^(image pull|seed|ssh)$/.test(cmd)) continue;
      assert("names" in first, `${c.path.join(" ")}: its first argument completes names`);
    }
  }
});

Deno.test("a file argument completes paths", async () => {
  assertEquals(at(await tree("vmctl"), "vmctl image import").args[0], { paths: "files" });
});

Deno.test("the names of new things are not completed from existing ones", async () => {
  const t = await tree("vmctl");
  assertEquals(at(t, "vmctl zone create").args[0], { none: true });
  assertEquals(at(t, "vmctl zone pool create").args[0], { none: true });
  const name = at(t, "vmctl create").options.find((o) => o.flags.includes("--name"))!;
  assertEquals(name.value, { none: true });
});

Deno.test("the hidden __complete is not in the tree", async () => {
  const t = await tree("vmctl");
  assert(!at(t, "vmctl").subcommands.includes("__complete"));
  assert(!t.some((c) => c.path.includes("__complete")));
});
