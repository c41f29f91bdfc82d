import { join } from "node:path";
import { assertEquals } from "../helpers/assert.ts";
import { fakeImage, ROOT, tempHome, vmctlOk } from "../helpers/vmctl_cli.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test("20 concurrent vmctl create processes are all recorded", async () => {
  const home = await tempHome();
  try {
    const image = await fakeImage(home);
    const runs = Array.from(
      { length: 20 },
      (_, i) => vmctlOk(home, ["create", "--name", `vm${i}`, "--image", image]),
    );
    await Promise.all(runs);
    const doc = JSON.parse(await Deno.readTextFile(join(home, "vmctl", "vms.json")));
    assertEquals(
      Object.keys(doc.vms).sort(),
      Array.from({ length: 20 }, (_, i) => `vm${i}`).sort(),
    );
    for (const rec of Object.values(doc.vms) as { state: string; operation?: unknown }[]) {
      assertEquals(rec.state, "prepared");
      assertEquals(rec.operation, undefined);
    }
    const dirs = [...Deno.readDirSync(join(home, "vmctl", "vms"))].map((e) => e.name);
    assertEquals(dirs.length, 20);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

// A child that rewrites a large registry in a loop, each version self-consistent.
const WRITER = `
import { updateStore } from ${JSON.stringify(new URL("../../lib/store.ts", import.meta.url).href)};
import { join } from "node:path";
const base = Deno.args[0];
const dataDir = join(base, "vmctl");
const paths = { dataDir, storeFile: join(dataDir, "vms.json"), storeLock: join(dataDir, "vms.json.lock"),
  vmsDir: join(dataDir, "vms"), imagesDir: join(dataDir, "images") };
for (let gen = 1; ; gen++) {
  await updateStore(paths, (doc) => {
    for (let i = 0; i < 300; i++) {
      doc.vms["vm" + i] = { id: "g" + gen, name: "vm" + i, backend: "noop", state: "prepared",
        work_dir: join(paths.vmsDir, "vm" + i), vcpus: 1, memory_mb: 1024, network: { type: "user" },
        created_at: "", padding: "x".repeat(500) };
    }
    doc.generation = gen;
  });
}
`;

Deno.test("kill -9 during writes always leaves a complete, parseable store", async () => {
  const home = await tempHome();
  try {
    const storeFile = join(home, "vmctl", "vms.json");
    for (let round = 0; round < 10; round++) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=ts", WRITER, home],
        cwd: ROOT,
        stdout: "null",
        stderr: "null",
      }).spawn();
      // Let it get going (start-up time varies with load), then kill it at a random moment.
      while (!(await exists(storeFile))) await sleep(20);
      await sleep(Math.random() * 300);
      child.kill("SIGKILL");
      await child.status;
      const doc = JSON.parse(await Deno.readTextFile(storeFile));
      // Every record comes from the same generation: the file is one whole write.
      const gens = new Set(Object.values(doc.vms).map((r) => (r as { id: string }).id));
      assertEquals(gens.size, 1, `round ${round}: mixed generations ${[...gens]}`);
      assertEquals([...gens][0], `g${doc.generation}`);
      assertEquals(Object.keys(doc.vms).length, 300);
    }
    // The next writer sweeps temp files the killed writers left behind.
    await vmctlOk(home, ["create", "--name", "after", "--image", await fakeImage(home)]);
    const leftovers = [...Deno.readDirSync(join(home, "vmctl"))].filter((e) =>
      e.name.includes(".tmp-")
    );
    assertEquals(leftovers, []);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});
