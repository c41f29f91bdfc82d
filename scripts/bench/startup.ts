/**
 * `deno task bench startup`: whole-process time of `vmctl list` with 200 registered VMs for each
 * artefact (docs/distribution.md), side by side in one hyperfine run with the empty program of
 * its runtime: `deno run empty.ts` for the Deno ones, `node -e 0` of the same node for
 * dist/vmctl.mjs and the Node single executable (the SEA is Node 22's binary). Target: each
 * list / its empty runtime <= 2.0.
 *
 * Artefacts: `deno run main.ts` and `deno run dist/vmctl.mjs` (with the vmctl task's scoped
 * permissions), dist/vmctl.mjs on Node 20 and 22 (pinned, from npm), and dist/vmctl-sea and
 * dist/vmctl-TARGET when they have been built (`deno task build:sea`, `deno task compile`).
 * Method: hyperfine -N, 5 warm-ups, 30 runs each; medians.
 *
 * @module
 */
import { join } from "node:path";
import { buildNode } from "../build/node.ts";
import { DIST, ROOT } from "../build/bundle.ts";
import { vmctlPermissionFlags } from "../build/permissions.ts";
import { registerVms } from "./registry_fixture.ts";

const RUNS = 30;
const VMS = 200;

interface Row {
  name: string;
  argv: string[];
  /** The name of the row this one is compared with (its empty runtime). */
  floor?: string;
}

async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout).trim();
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

const tmp = await Deno.makeTempDir({ prefix: "vmctl-bench-startup-" });
try {
  const env = { XDG_DATA_HOME: tmp, VMCTL_BACKEND: "noop", NO_COLOR: "1" };
  await registerVms(tmp, "noop", VMS);
  const empty = join(tmp, "empty.ts");
  await Deno.writeTextFile(empty, "");
  const script = await buildNode(join(tmp, "dist"));
  const deno = Deno.execPath();
  const perms = ["-q", ...await vmctlPermissionFlags()];
  const rows: Row[] = [
    { name: "deno run empty.ts", argv: [deno, "run", empty] },
    {
      name: "deno run main.ts list",
      argv: [deno, "run", ...perms, join(ROOT, "main.ts"), "list"],
      floor: "deno run empty.ts",
    },
    {
      name: "deno run dist/vmctl.mjs list",
      argv: [deno, "run", ...perms, script, "list"],
      floor: "deno run empty.ts",
    },
  ];
  for (const major of [20, 22]) {
    const node = await output("npx", ["-y", `node@${major}`, "-p", "process.execPath"]);
    const version = await output(node, ["--version"]);
    rows.push({ name: `node ${version} -e 0`, argv: [node, "-e", "0"] });
    rows.push({
      name: `node ${version} dist/vmctl.mjs list`,
      argv: [node, script, "list"],
      floor: `node ${version} -e 0`,
    });
    if (major === 22 && await exists(join(DIST, "vmctl-sea"))) {
      rows.push({
        name: "dist/vmctl-sea list",
        argv: [join(DIST, "vmctl-sea"), "list"],
        floor: `node ${version} -e 0`,
      });
    }
  }
  const target = `${Deno.build.arch}-unknown-linux-gnu`;
  if (await exists(join(DIST, `vmctl-${target}`))) {
    rows.push({
      name: `dist/vmctl-${target} list`,
      argv: [join(DIST, `vmctl-${target}`), "list"],
      floor: "deno run empty.ts",
    });
  }

  // Sanity: every list lists the 200 VMs.
  for (const row of rows.filter((r) => r.floor)) {
    const out = await new Deno.Command(row.argv[0], { args: row.argv.slice(1), env, cwd: tmp })
      .output();
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n").length;
    if (out.code !== 0 || lines !== VMS + 1) {
      throw new Error(`${row.name}: exit ${out.code}, ${lines} lines`);
    }
  }

  const json = join(tmp, "hf.json");
  const r = await new Deno.Command("hyperfine", {
    args: [
      "-N",
      "--warmup",
      "5",
      "--runs",
      String(RUNS),
      "--export-json",
      json,
      ...rows.flatMap((row) => ["-n", row.name, row.argv.join(" ")]),
    ],
    env,
    cwd: tmp,
    stdout: "null",
    stderr: "inherit",
  }).output();
  if (r.code !== 0) throw new Error("hyperfine failed");
  const results = JSON.parse(await Deno.readTextFile(json)).results as {
    command: string;
    median: number;
  }[];
  const median = new Map(rows.map((row, i) => [row.name, results[i].median * 1000]));
  let over = false;
  console.log(`| command (${VMS} VMs) | median | ratio to its empty runtime |`);
  console.log(`|---|---|---|`);
  for (const row of rows) {
    const ms = median.get(row.name)!;
    const ratio = row.floor ? ms / median.get(row.floor)! : undefined;
    if (ratio !== undefined && ratio > 2.0) over = true;
    console.log(
      `| ${row.name} | ${ms.toFixed(1)} ms | ${ratio === undefined ? "" : ratio.toFixed(2)} |`,
    );
  }
  console.log(`\ntarget: every ratio <= 2.0 — hyperfine -N, 5 warm-ups, ${RUNS} runs, medians`);
  console.log(`dist/vmctl.mjs: ${(await Deno.stat(script)).size} bytes`);
  if (over) Deno.exitCode = 1;
} finally {
  await Deno.remove(tmp, { recursive: true });
}
