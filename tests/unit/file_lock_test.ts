import { withFileLock } from "../../lib/files.ts";
import { assertEquals } from "../helpers/assert.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

/** A PID no process has: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

Deno.test("a lock left by a process that died is taken over", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/x.lock`;
    await Deno.writeTextFile(lock, `${await deadPid()}\n`);
    assertEquals(await withFileLock(lock, () => Promise.resolve("ran")), "ran");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
  });
});

Deno.test("a lock file naming this process, which does not hold it, is taken over", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/x.lock`;
    await Deno.writeTextFile(lock, `${Deno.pid}\n`);
    assertEquals(await withFileLock(lock, () => Promise.resolve("ran")), "ran");
  });
});

Deno.test("a break mutex left by a process that died does not stop the taking over", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/x.lock`;
    const dead = await deadPid();
    await Deno.writeTextFile(lock, `${dead}\n`);
    await Deno.writeTextFile(`${lock}.break`, `${dead}\n`);
    assertEquals(await withFileLock(lock, () => Promise.resolve("ran")), "ran");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
  });
});

Deno.test("a lock file without a PID (left by a flock-era vmctl) holds nobody", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/x.lock`;
    await Deno.writeTextFile(lock, "");
    assertEquals(await withFileLock(lock, () => Promise.resolve("ran")), "ran");
  });
});

Deno.test("a lock held by a live process is waited for, and holds this process's PID meanwhile", async () => {
  await withTempDir(async (dir) => {
    const lock = `${dir}/x.lock`;
    const order: string[] = [];
    let release = () => {};
    const first = withFileLock(lock, async () => {
      order.push("first in");
      assertEquals(await Deno.readTextFile(lock), `${Deno.pid}\n`);
      await new Promise<void>((r) => (release = r));
      order.push("first out");
    });
    const second = withFileLock(lock, () => Promise.resolve(order.push("second in")));
    while (order.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    assertEquals(order, ["first in"]);
    release();
    await Promise.all([first, second]);
    assertEquals(order, ["first in", "first out", "second in"]);
  });
});
