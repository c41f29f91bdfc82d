/**
 * `deno task bench list`: whole-process time of `vmctl list` with 200
 * registered VMs, side by side with `deno run` of an empty script (the floor
 * any Deno program pays) in the same run. Target: list / empty <= 2.0.
 *
 * Method: hyperfine (-N, 5 warm-ups, 40 runs each) when installed, else a
 * loop of 40 runs each, alternating; medians compared. Both run with the
 * task's scoped permissions; the registry holds 200 noop VMs (the state
 * query is then free, so this measures start-up, store read and rendering).
 * A second pair runs `list` over 200 stopped QEMU VMs (informational: it adds
 * loading the QEMU backend and one pidfile probe per VM).
 * It also checks which modules `list` evaluates (static import closure).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { registerVms } from "./registry_fixture.ts";
import { staticClosure } from "./startup_graph.ts";
import { vmctlPermissionFlags } from "../build/permissions.ts";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const RUNS = 40;
const VMS = 200;

const perms = ["-q", ...await vmctlPermissionFlags()];

const tmp = await Deno.makeTempDir({ prefix: "vmctl-bench-list-" });
try {
  const env = { XDG_DATA_HOME: tmp, VMCTL_BACKEND: "noop", NO_COLOR: "1" };
  const qemuEnv = { ...env, XDG_DATA_HOME: join(tmp, "qemu") };
  await registerVms(env.XDG_DATA_HOME, "noop", VMS);
  await registerVms(qemuEnv.XDG_DATA_HOME, "qemu", VMS);
  const empty = join(tmp, "empty.ts");
  await Deno.writeTextFile(empty, "");
  const deno = Deno.execPath();
  const emptyArgv = [deno, "run", empty];
  const listArgv = [deno, "run", ...perms, join(ROOT, "main.ts"), "list"];

  // Sanity: list really lists the 200 VMs.
  const check = await new Deno.Command(listArgv[0], { args: listArgv.slice(1), env, cwd: tmp })
    .output();
  const lines = new TextDecoder().decode(check.stdout).trim().split("\n").length;
  if (check.code !== 0 || lines !== VMS + 1) throw new Error(`list printed ${lines} lines`);

  const [emptyMed, listMed, method] = await measure(emptyArgv, listArgv, env);
  const ratio = listMed / emptyMed;
  const [emptyMedQ, listMedQ] = await measure(emptyArgv, listArgv, qemuEnv);

  const root = `file://${ROOT}/`;
  const loaded = await staticClosure(ROOT, [
    `${root}main.ts`,
    `${root}cli/vm/list.ts`,
    `${root}backends/noop.ts`,
  ]);
  const heavy = [...loaded].filter((s) =>
    /@bgotink\/kdl|lib\/vmfile|lib\/cloudinit|backends\/qemu|lib\/zones|lib\/iso9660/.test(s)
  );

  console.log(`| command | median |`);
  console.log(`|---|---|`);
  console.log(`| deno run empty.ts | ${emptyMed.toFixed(1)} ms |`);
  console.log(`| vmctl list (${VMS} VMs) | ${listMed.toFixed(1)} ms |`);
  console.log(`| deno run empty.ts (second pair) | ${emptyMedQ.toFixed(1)} ms |`);
  console.log(`| vmctl list (${VMS} stopped QEMU VMs) | ${listMedQ.toFixed(1)} ms |`);
  console.log(`\nratio list / empty = ${ratio.toFixed(2)} (target <= 2.0) — ${method}`);
  console.log(
    `ratio list (QEMU VMs) / empty = ${(listMedQ / emptyMedQ).toFixed(2)} (informational)`,
  );
  console.log(
    `modules evaluated by list: ${loaded.size}; heavy ones: ${heavy.join(", ") || "none"}`,
  );
  console.log(`deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}`);
  if (ratio > 2.0 || heavy.length) Deno.exitCode = 1;
} finally {
  await Deno.remove(tmp, { recursive: true });
}

/** Medians (ms) of the two commands, measured in the same run. */
async function measure(
  a: string[],
  b: string[],
  env: Record<string, string>,
): Promise<[number, number, string]> {
  const hf = await which("hyperfine");
  if (hf) {
    const out = join(tmp, "hf.json");
    const r = await new Deno.Command(hf, {
      args: [
        "-N",
        "--warmup",
        "5",
        "--runs",
        String(RUNS),
        "--export-json",
        out,
        "-n",
        "empty",
        a.join(" "),
        "-n",
        "list",
        b.join(" "),
      ],
      env,
      cwd: tmp,
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (r.code !== 0) throw new Error("hyperfine failed");
    const res = JSON.parse(await Deno.readTextFile(out)).results as {
      median: number;
      user: number;
      system: number;
    }[];
    const cpu = (i: number) => ((res[i].user + res[i].system) * 1000).toFixed(1);
    return [
      res[0].median * 1000,
      res[1].median * 1000,
      `hyperfine -N, 5 warm-ups, ${RUNS} runs; mean CPU (user+sys) empty ${cpu(0)} ms, list ${
        cpu(1)
      } ms`,
    ];
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    for (const [argv, acc] of [[a, ta], [b, tb]] as const) {
      const t0 = performance.now();
      await new Deno.Command(argv[0], { args: argv.slice(1), env, cwd: tmp, stdout: "null" })
        .output();
      if (i >= 3) acc.push(performance.now() - t0);
    }
  }
  return [median(ta), median(tb), `own loop, alternating, 3 warm-ups, ${RUNS} runs`];
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      const p = join(dir, cmd);
      if ((await Deno.stat(p)).isFile) return p;
    } catch { /* not here */ }
  }
  return undefined;
}
