/**
 * `deno task bench [NAME...]`: runs the benchmark scripts in scripts/bench/
 * (all of them, or the named ones) one after another. Each script prints its
 * own table and says how to read it; results go into docs/benchmarks.md by hand,
 * with the machine and the method.
 */
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(dirname(fileURLToPath(import.meta.url)), "bench");
const available = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith(".ts"))
  .map((e) => basename(e.name, ".ts"))
  .sort();
const wanted = Deno.args.length ? Deno.args : available;
for (const name of wanted) {
  if (!available.includes(name)) {
    console.error(`bench: unknown benchmark ${name}; available: ${available.join(", ")}`);
    Deno.exit(2);
  }
}
let failed = 0;
for (const name of wanted) {
  console.log(`\n## ${name}\n`);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(dir, `${name}.ts`)],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) failed++;
}
Deno.exit(failed ? 1 : 0);
