/**
 * Benchmark: `zone create --dry-run` allocation with 10,000 registered zones
 * (target < 1 s). Measures (a) in-process: read + strictly parse every zone
 * entry, then allocate; (b) the whole CLI (`deno run main.ts zone create
 * --dry-run`) against the fake illumos tools, with 10,000 zones and with an
 * empty registry (the ratio is the cost of the 10,000 entries). The peer
 * (Rust zmgr) cannot be built offline here, so no peer column.
 *
 * Run: deno task bench zones
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { allocate, formatIp } from "../../lib/ipam.ts";
import { usedAddresses } from "../../lib/zones/ledger.ts";
import { writeZoneEntry } from "../../lib/zones/schema.ts";
import { loadAllZones, loadPool, registryAt } from "../../backends/zones/registry.ts";
import { initRegistry } from "../../backends/zones/entities.ts";
import { createRunner } from "../../backends/exec.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ZONES = Number(Deno.env.get("BENCH_ZONES") ?? 10_000);
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function makeRegistry(dir: string, zones: number): Promise<void> {
  const reg = registryAt(dir);
  await initRegistry(reg, createRunner(), {
    zonepathRoot: "/zones",
    pool: { name: "default", network: "10.0.0.0/16", gateway: "10.0.0.1", stub: "igb0" },
  });
  for (let i = 0; i < zones; i++) {
    const v = 0x0a000002 + i;
    const addr = `10.0.${(v >> 8) & 255}.${v & 255}/16`;
    const name = `z${i}`;
    await Deno.writeTextFile(
      join(reg.dirs.zones, `${name}.kdl`),
      writeZoneEntry({
        name,
        brand: "ipkg",
        template: "ipkg",
        pool: "default",
        addresses: [addr],
        gateway: "10.0.0.1",
        vnic: `${name}0`,
        zonepath: `/zones/${name}`,
        status: "active",
        imported: false,
        created: "2026-01-01T00:00:00.000Z",
      }),
    );
  }
}

async function inProcess(dir: string): Promise<{ ms: number; addr: string }> {
  const reg = registryAt(dir);
  const times: number[] = [];
  let addr = "";
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const pool = await loadPool(reg, "default");
    const zones = await loadAllZones(reg);
    addr = formatIp(allocate(pool, usedAddresses(zones)));
    times.push(performance.now() - t0);
  }
  return { ms: median(times), addr };
}

async function cli(dir: string, state: string): Promise<number> {
  const env = {
    PATH: `${join(repo, "fixtures", "illumos", "bin")}:${Deno.env.get("PATH")}`,
    FAKE_ILLUMOS_STATE: state,
    FAKE_ILLUMOS_DENO: Deno.execPath(),
    HOME: Deno.env.get("HOME") ?? "/root",
  };
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        join(repo, "main.ts"),
        "zone",
        "create",
        "newzone",
        "--dry-run",
        "--root",
        dir,
      ],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    times.push(performance.now() - t0);
    if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
  }
  return median(times);
}

const tmp = await Deno.makeTempDir({ prefix: "zmgr-bench-" });
try {
  const big = join(tmp, "big"), empty = join(tmp, "empty"), state = join(tmp, "fake");
  await makeRegistry(big, ZONES);
  await makeRegistry(empty, 0);
  const ip = await inProcess(big);
  const ip0 = await inProcess(empty);
  const cliBig = await cli(big, state);
  const cliEmpty = await cli(empty, state);
  console.log(`zones registered: ${ZONES}; median of ${RUNS} runs each`);
  console.log("| measurement | 0 zones | " + ZONES + " zones | ratio |");
  console.log("|---|---|---|---|");
  console.log(
    `| in-process: read+parse entries, allocate | ${ip0.ms.toFixed(1)} ms | ${
      ip.ms.toFixed(1)
    } ms | ${(ip.ms / ip0.ms).toFixed(1)}x |`,
  );
  console.log(
    `| CLI \`zone create --dry-run\` (fake zoneadm on PATH) | ${cliEmpty.toFixed(0)} ms | ${
      cliBig.toFixed(0)
    } ms | ${(cliBig / cliEmpty).toFixed(2)}x |`,
  );
  console.log(
    `allocated with ${ZONES} zones: ${ip.addr} (expected the address after the last entry)`,
  );
  console.log(`target: CLI with ${ZONES} zones < 1000 ms: ${cliBig < 1000 ? "met" : "NOT met"}`);
} finally {
  await Deno.remove(tmp, { recursive: true });
}
