import { join } from "node:path";
import { assertEquals } from "../helpers/assert.ts";
import { fakeImage, ROOT, tempHome, vmctlOk } from "../helpers/vmctl_cli.ts";

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

// A child that writes a complete registry (generation 1), then kills itself
// with SIGKILL at one chosen point of writing generation 2: inside the change
// (lock held, nothing written), halfway through the temp file, just before the
// rename, or just after it (before the directory sync and the unlock).
const WRITER = `
import { updateStore } from ${JSON.stringify(new URL("../../lib/store.ts", import.meta.url).href)};
import { join } from "node:path";
const [base, point] = Deno.args;
const dataDir = join(base, "vmctl");
const paths = { dataDir, storeFile: join(dataDir, "vms.json"), storeLock: join(dataDir, "vms.json.lock"),
  vmsDir: join(dataDir, "vms"), imagesDir: join(dataDir, "images") };
let armed = false;
const die = (at) => { if (armed && point === at) Deno.kill(Deno.pid, "SIGKILL"); };
const write = Deno.FsFile.prototype.write;
Deno.FsFile.prototype.write = async function (p) {
  const n = await write.call(this, armed ? p.subarray(0, Math.ceil(p.length / 2)) : p);
  die("mid-write");
  return n;
};
const rename = Deno.rename;
Deno.rename = async (from, to) => {
  die("before-rename");
  await rename(from, to);
  die("after-rename");
};
for (const gen of [1, 2]) {
  armed = gen === 2;
  await updateStore(paths, (doc) => {
    die("in-change");
    for (let i = 0; i < 300; i++) {
      doc.vms["vm" + i] = { id: "g" + gen, name: "vm" + i, backend: "noop", state: "prepared",
        work_dir: join(paths.vmsDir, "vm" + i), vcpus: 1, memory_mb: 1024, network: { type: "user" },
        created_at: "", padding: "x".repeat(500) };
    }
    doc.generation = gen;
  });
}
`;

/** Where the writer is killed, and the generation the store must then hold. */
const KILL_POINTS: [string, number][] = [
  ["in-change", 1],
  ["mid-write", 1],
  ["before-rename", 1],
  ["after-rename", 2],
];

for (const [point, expected] of KILL_POINTS) {
  Deno.test(`kill -9 ${point} leaves a complete store (generation ${expected})`, async () => {
    const home = await tempHome();
    try {
      const child = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=ts", WRITER, home, point],
        cwd: ROOT,
        stdout: "null",
        stderr: "piped",
      }).output();
      assertEquals(child.signal, "SIGKILL", new TextDecoder().decode(child.stderr));
      const doc = JSON.parse(await Deno.readTextFile(join(home, "vmctl", "vms.json")));
      // Every record comes from the same generation: the file is one whole write.
      const gens = new Set(Object.values(doc.vms).map((r) => (r as { id: string }).id));
      assertEquals([...gens], [`g${expected}`]);
      assertEquals(doc.generation, expected);
      assertEquals(Object.keys(doc.vms).length, 300);
      // The next writer sweeps the temp file the killed writer left behind.
      await vmctlOk(home, ["create", "--name", "after", "--image", await fakeImage(home)]);
      const leftovers = [...Deno.readDirSync(join(home, "vmctl"))].filter((e) =>
        e.name.includes(".tmp-")
      );
      assertEquals(leftovers, []);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}
