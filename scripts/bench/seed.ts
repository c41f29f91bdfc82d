/**
 * `deno task bench seed`: the pure-TypeScript seed writer against genisoimage.
 *
 * 1. In process: lay out and serialise the 2-file seed (target < 5 ms), and
 *    one with a 5 MB user-data, median of many runs.
 * 2. Whole process (hyperfine, median): `genisoimage -volid cidata -joliet
 *    -rock` vs `vmctl seed` vs a bare `deno run` of an empty script, on the
 *    2-file seed and on a 200 MB tree of mixed files (`vmctl seed --add`).
 *    Ratio ours/theirs, target <= 1.5 on the tree.
 * 3. Size in sectors of the 2-file seed (target: 4x smaller).
 *
 * Prints a Markdown report; its figures go into docs/benchmarks.md by hand.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isoBytes, planIso, SECTOR, writeIsoFile } from "../../lib/iso9660/mod.ts";

const MAIN = fileURLToPath(new URL("../../main.ts", import.meta.url));
const DENO = Deno.execPath();
const enc = new TextEncoder();
const dec = new TextDecoder();
const tmp = await Deno.makeTempDir({ prefix: "vmctl-bench-seed-" });

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function inProcess(label: string, userData: Uint8Array, runs: number, toFile: boolean) {
  const metaData = enc.encode('instance-id: "iid-bench"\nlocal-hostname: "bench"\n');
  const entries = [{ path: "user-data", data: userData }, { path: "meta-data", data: metaData }];
  const times: number[] = [];
  const out = join(tmp, "inproc.iso");
  for (let i = 0; i < runs + 5; i++) {
    const t0 = performance.now();
    const layout = await planIso(entries, { volumeId: "cidata" });
    if (toFile) await writeIsoFile(layout, out, { mode: 0o600 });
    else isoBytes(layout);
    const dt = performance.now() - t0;
    if (i >= 5) times.push(dt);
  }
  return `| ${label} | ${median(times).toFixed(3)} ms | ${runs} runs |`;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** Median seconds of each command, measured by hyperfine in one run (interleaved warm-up). */
async function hyperfine(
  cmds: Record<string, string>,
  runs: number,
): Promise<Record<string, number>> {
  const json = join(tmp, "hf.json");
  const args = ["--warmup", "2", "--runs", String(runs), "-N", "--export-json", json];
  for (const [name, cmd] of Object.entries(cmds)) args.push("-n", name, cmd);
  await sh("hyperfine", args);
  const r = JSON.parse(await Deno.readTextFile(json)) as {
    results: { command: string; median: number }[];
  };
  return Object.fromEntries(r.results.map((x) => [x.command, x.median]));
}

/** A 200 MB tree of mixed file sizes, deterministic contents. */
async function makeTree(root: string): Promise<{ files: number; bytes: number }> {
  const plan: [number, number][] = [[1, 80 << 20], [8, 8 << 20], [60, 512 << 10], [400, 40 << 10], [
    3000,
    4 << 10,
  ]];
  let files = 0;
  let bytes = 0;
  const block = new Uint8Array(80 << 20);
  for (let i = 0; i < block.length; i += 4096) block[i] = (i / 4096) & 0xff;
  for (const [count, size] of plan) {
    for (let i = 0; i < count; i++) {
      const dir = join(root, `d${files % 25}`, `s${files % 7}`);
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeFile(join(dir, `file-${files}.bin`), block.subarray(0, size - (files % 97)));
      files++;
      bytes += size - (files % 97);
    }
  }
  return { files, bytes };
}

const lines: string[] = [];
const say = (s = "") => {
  lines.push(s);
  console.log(s);
};
try {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ??
    "unknown CPU";
  const genVersion = (await sh("genisoimage", ["--version"])).trim();
  say(`### seed (${new Date().toISOString().slice(0, 10)}, scripts/bench/seed.ts)`);
  say();
  say(
    `Machine: ${cpu}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}, ${genVersion}; files in /tmp (ext4).`,
  );
  say();
  say("In process (lay out + serialise; median):");
  say();
  say("| case | median | runs |");
  say("|---|---|---|");
  const small = enc.encode("#cloud-config\nusers: []\n");
  say(await inProcess("2-file seed, to bytes", small, 300, false));
  say(await inProcess("2-file seed, to file (atomic, fsync)", small, 100, true));
  const big = new Uint8Array(5 << 20).fill(0x61);
  say(await inProcess("5 MB user-data, to bytes", big, 30, false));
  say(await inProcess("5 MB user-data, to file (atomic, fsync)", big, 20, true));
  say();

  await Deno.writeFile(join(tmp, "user-data"), small);
  await Deno.writeTextFile(
    join(tmp, "meta-data"),
    'instance-id: "iid-bench"\nlocal-hostname: "bench"\n',
  );
  await Deno.writeTextFile(join(tmp, "empty.ts"), "");
  const ud = join(tmp, "user-data");
  const md = join(tmp, "meta-data");
  const perms = "--allow-read --allow-write --allow-env";
  // Deno wants --allow-all for anything under /dev (so for /dev/shm); the flags do not change speed.
  const vmctlSeed = (out: string, extra = "", p = perms) =>
    `${DENO} run ${p} ${MAIN} seed --user-data ${ud} --meta-data ${md} ${extra} ${out}`;
  const small2 = await hyperfine({
    "genisoimage": `genisoimage -quiet -output ${
      join(tmp, "g.iso")
    } -volid cidata -joliet -rock ${ud} ${md}`,
    "vmctl seed": vmctlSeed(join(tmp, "v.iso")),
    "deno run empty.ts": `${DENO} run ${join(tmp, "empty.ts")}`,
  }, 15);
  const gSectors = (await Deno.stat(join(tmp, "g.iso"))).size / SECTOR;
  const vSectors = (await Deno.stat(join(tmp, "v.iso"))).size / SECTOR;

  // The tree build through the library from a tiny script: no CLI start-up (main.ts, commander).
  const lib = join(tmp, "lib-build.ts");
  const isoMod = new URL("../../lib/iso9660/mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    lib,
    `import { buildIsoFile, entriesFromDirectory } from ${JSON.stringify(isoMod)};\n` +
      `const seed = [{ path: "user-data", sourcePath: ${JSON.stringify(ud)} }, ` +
      `{ path: "meta-data", sourcePath: ${JSON.stringify(md)} }];\n` +
      `const e = [...seed, ...await entriesFromDirectory(Deno.args[0])];\n` +
      `await buildIsoFile(e, { volumeId: "cidata" }, Deno.args[1], { sync: false });\n`,
  );
  const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  say("Whole process (hyperfine -N, median, warm page cache):");
  say();
  say("| case | genisoimage | vmctl | deno run empty.ts | ours/theirs |");
  say("|---|---|---|---|---|");
  say(
    `| 2-file seed, \`vmctl seed\` | ${(small2["genisoimage"] * 1000).toFixed(1)} ms | ` +
      `${(small2["vmctl seed"] * 1000).toFixed(1)} ms | ` +
      `${(small2["deno run empty.ts"] * 1000).toFixed(1)} ms | ` +
      `${ratio(small2["vmctl seed"], small2["genisoimage"])} |`,
  );
  // The 200 MB tree on the real disk (ext4, writeback included) and on tmpfs (CPU only).
  const places: [string, string][] = [[tmp, "/tmp, ext4"]];
  const shm = await Deno.stat("/dev/shm").then((s) => s.isDirectory, () => false);
  if (shm) {
    places.push([
      await Deno.makeTempDir({ dir: "/dev/shm", prefix: "vmctl-bench-" }),
      "/dev/shm, tmpfs",
    ]);
  }
  try {
    for (const [base, label] of places) {
      const tree = join(base, "tree");
      const t = await makeTree(tree);
      const p = base.startsWith("/dev/") ? "--allow-all" : perms;
      const r = await hyperfine({
        "genisoimage": `genisoimage -quiet -output ${
          join(base, "gt.iso")
        } -volid cidata -joliet -rock ${ud} ${md} ${tree}`,
        "vmctl seed --add": vmctlSeed(join(base, "vt.iso"), `--add ${tree}`, p),
        "library script": `${DENO} run ${p} ${lib} ${tree} ${join(base, "lt.iso")}`,
      }, 7);
      const what = `${t.files} files, ${(t.bytes / 1e6).toFixed(0)} MB (${label})`;
      say(
        `| ${what}, \`vmctl seed --add\` | ${ms(r["genisoimage"])} | ${
          ms(r["vmctl seed --add"])
        } | | ` +
          `${ratio(r["vmctl seed --add"], r["genisoimage"])} |`,
      );
      say(
        `| ${what}, library script | ${ms(r["genisoimage"])} | ${ms(r["library script"])} | | ` +
          `${ratio(r["library script"], r["genisoimage"])} |`,
      );
      await Deno.remove(tree, { recursive: true });
    }
  } finally {
    if (shm) await Deno.remove(places[1][0], { recursive: true }).catch(() => {});
  }
  say();
  say(
    `Size of the 2-file seed: vmctl ${vSectors} sectors, genisoimage ${gSectors} sectors ` +
      `(${ratio(gSectors, vSectors)}x smaller).`,
  );
} finally {
  await Deno.remove(tmp, { recursive: true });
}
