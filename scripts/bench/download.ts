/**
 * `deno task bench download`: vmctl's image download against curl, from two
 * local HTTP servers on 127.0.0.1: sendfile_server.py (python3, sendfile(2):
 * nearly free of CPU, like a remote server) and Deno.serve streaming the file
 * (about a core, taken from the two cores the clients share).
 * The server's CPU per command is printed with each case.
 *
 * 1. 1 GiB plain file, from each server: `vmctl image pull` vs `curl -o`
 *    (target: vmctl throughput >= 0.7 x curl from the sendfile server).
 * 2. the same file zstd-compressed, from the sendfile server: `vmctl image
 *    pull` (decompresses while streaming, hashes) vs `curl | zstd -d -o`
 *    (target >= 0.7 x).
 * 3. peak RSS (VmHWM) of the vmctl process during a 2 GiB download (target < 150 MB).
 *
 * Each measurement alternates vmctl and the peer (the order flips every run),
 * RUNS times, fresh cache each time, each after a `sync` so no command pays
 * for the previous one's dirty pages and after reading the served files so the
 * server does not read from disk; the median wall time is reported (all runs too). Env: BENCH_RUNS (default 3),
 * BENCH_GIB (default 1).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 3);
const GIB = Number(Deno.env.get("BENCH_GIB") ?? 1);
const tmp = await Deno.makeTempDir({ prefix: "vmctl-bench-dl-" });

/** Semi-compressible data (like a disk image): random nibbles, zstd gets about 2x. */
async function makeFile(path: string, bytes: number): Promise<void> {
  const f = await Deno.open(path, { create: true, write: true, truncate: true });
  const block = new Uint8Array(1024 * 1024);
  for (let done = 0; done < bytes; done += block.length) {
    for (let i = 0; i < block.length; i += 65536) {
      crypto.getRandomValues(block.subarray(i, i + 65536));
    }
    for (let i = 0; i < block.length; i++) block[i] &= 0x0f;
    let off = 0;
    while (off < block.length) off += await f.write(block.subarray(off));
  }
  f.close();
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

/** Run vmctl image pull with a fresh data dir, sampling VmHWM of the deno process. */
async function vmctlPull(url: string): Promise<{ ms: number; peakRss: number }> {
  const home = await Deno.makeTempDir({ dir: tmp, prefix: "home-" });
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(ROOT, "main.ts"), "image", "pull", url],
    env: { XDG_DATA_HOME: home, NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const sampler = setInterval(() => {
    try {
      const m = Deno.readTextFileSync(`/proc/${child.pid}/status`).match(/VmHWM:\s+(\d+) kB/);
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch { /* exited */ }
  }, 50);
  const out = await child.output();
  clearInterval(sampler);
  const ms = performance.now() - t0;
  if (!out.success) throw new Error(`vmctl failed: ${new TextDecoder().decode(out.stderr)}`);
  await Deno.remove(home, { recursive: true });
  return { ms, peakRss: peak };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbps = (bytes: number, ms: number) => (bytes / 1024 / 1024 / (ms / 1000)).toFixed(0);

const plain = join(tmp, "image.raw");
const size = GIB * 1024 ** 3;
console.log(`generating ${GIB} GiB test image in ${tmp} ...`);
await makeFile(plain, size);
await run("zstd", ["-q", "-3", "-T0", plain, "-o", `${plain}.zst`]);
const zsize = (await Deno.stat(`${plain}.zst`)).size;

/** A running server: its base URL and the CPU seconds it has used so far. */
interface Server {
  label: string;
  base: string;
  cpu(): number;
  stop(): Promise<void>;
}

const cpuOf = (pid: number | "self") => {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
};

/** Deno.serve in this process, streaming the file (it costs CPU the clients share). */
function denoServer(): Server {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const name = new URL(req.url).pathname.slice(1);
      const file = await Deno.open(join(tmp, name)).catch(() => null);
      if (!file) return new Response("not found", { status: 404 });
      const st = await file.stat();
      return new Response(file.readable, { headers: { "content-length": String(st.size) } });
    },
  );
  return {
    label: "Deno.serve",
    base: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
    cpu: () => cpuOf("self"),
    async stop() {
      ac.abort();
      await server.finished;
    },
  };
}

/** python3 sendfile_server.py: the body goes out with sendfile(2), nearly free of CPU. */
async function sendfileServer(): Promise<Server | null> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("python3", {
      args: [join(ROOT, "scripts", "bench", "sendfile_server.py"), tmp],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch {
    console.log("python3 not found: the sendfile server cases are skipped");
    return null;
  }
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  child.stdout.cancel();
  const port = Number(new TextDecoder().decode(value).trim());
  return {
    label: "sendfile",
    base: `http://127.0.0.1:${port}`,
    cpu: () => cpuOf(child.pid),
    async stop() {
      child.kill();
      await child.status;
    },
  };
}

const servers = [await sendfileServer(), denoServer()].filter((s): s is Server => s !== null);
try {
  const rows: string[][] = [];
  // Each command starts from a clean page cache state (`sync`, not timed: the previous command's
  // dirty GiB would otherwise throttle the next writer), and the order alternates per run.
  // Also read the served files (untimed): this VM evicts idle page cache within seconds, and a
  // server reading from disk would slow whichever command came next.
  const settle = () =>
    run("bash", ["-c", 'sync; cat "$@" > /dev/null', "bash", plain, `${plain}.zst`]);
  /** Time `cmd` after settling; also the server's CPU seconds during it. */
  const timed = async (server: Server, cmd: () => Promise<number>) => {
    await settle();
    const c0 = server.cpu();
    const ms = await cmd();
    return { ms, serverCpu: server.cpu() - c0 };
  };
  const curlPlain = (base: string) => async () => {
    const ms = await run("curl", ["-sf", "-o", join(tmp, "curl.out"), `${base}/image.raw`]);
    await Deno.remove(join(tmp, "curl.out"));
    return ms;
  };
  const curlZstd = (base: string) => async () => {
    const ms = await run("bash", [
      "-c",
      `set -o pipefail; curl -sf "$1" | zstd -q -d -o "$2"`,
      "bash",
      `${base}/image.raw.zst`,
      join(tmp, "curlz.out"),
    ]);
    await Deno.remove(join(tmp, "curlz.out"));
    return ms;
  };
  const vmctl = (url: string) => async () => (await vmctlPull(url)).ms;
  const zstdLabel = `zstd ${(zsize / 1024 ** 2).toFixed(0)} MiB -> ${GIB} GiB`;
  const cases = servers.flatMap((server) => [
    {
      name: `plain ${GIB} GiB, ${server.label} server`,
      server,
      ours: vmctl(`${server.base}/image.raw`),
      peer: curlPlain(server.base),
      peerName: "curl",
      target: ">= 0.7",
    },
    // zstd is measured with the first (leanest) server only
    ...(server === servers[0]
      ? [{
        name: `${zstdLabel}, ${server.label} server`,
        server,
        ours: vmctl(`${server.base}/image.raw.zst`),
        peer: curlZstd(server.base),
        peerName: "curl|zstd -d",
        target: ">= 0.7",
      }]
      : []),
  ]);
  for (const c of cases) {
    const ours: number[] = [], peer: number[] = [], cpu: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const one = async (cmd: () => Promise<number>, into: number[]) => {
        const t = await timed(c.server, cmd);
        into.push(t.ms);
        cpu.push(t.serverCpu);
      };
      if (i % 2 === 0) {
        await one(c.ours, ours);
        await one(c.peer, peer);
      } else {
        await one(c.peer, peer);
        await one(c.ours, ours);
      }
    }
    const secs = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(" ");
    console.log(`${c.name}: vmctl ${secs(ours)} | ${c.peerName} ${secs(peer)}`);
    const [a, b] = [median(ours), median(peer)];
    rows.push([
      c.name,
      `${(a / 1000).toFixed(2)} s (${mbps(size, a)} MiB/s)`,
      `${c.peerName} ${(b / 1000).toFixed(2)} s (${mbps(size, b)} MiB/s)`,
      (b / a).toFixed(2),
      `${median(cpu).toFixed(2)} s`,
      c.target,
    ]);
  }

  // peak RSS during a 2 GiB download: serve the same file twice as one body
  await Deno.rename(plain, join(tmp, "a.raw"));
  await run("bash", [
    "-c",
    `cat "$1" "$1" > "$2"`,
    "bash",
    join(tmp, "a.raw"),
    join(tmp, "big.raw"),
  ]);
  await Deno.remove(join(tmp, "a.raw"));
  const big = await vmctlPull(`${servers[0].base}/big.raw`);
  rows.push([
    `peak RSS, ${2 * GIB} GiB pull`,
    `${(big.peakRss / 1024 ** 2).toFixed(0)} MB`,
    "-",
    "-",
    "-",
    "< 150 MB",
  ]);

  console.log(
    `runs: ${RUNS} (median), machine: ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cpus`,
  );
  console.log(
    "| case | vmctl | peer | ratio (peer time / vmctl time) | server CPU per command | target |",
  );
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
} finally {
  for (const server of servers) await server.stop();
  await Deno.remove(tmp, { recursive: true });
}
