import { assertEquals, assertRejects } from "../helpers/assert.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import {
  describeFileProblem,
  fileProblem,
  logTail,
  pathExists,
  writeAtomic,
  writeAtomicWith,
} from "../../lib/files.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

Deno.test("writeAtomic replaces a file with the given mode and leaves no temp file", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/state.json`;
    await Deno.writeTextFile(path, "old");
    await writeAtomic(path, "new\n", { mode: 0o640 });
    assertEquals(await Deno.readTextFile(path), "new\n");
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o640);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["state.json"]);
  }));

Deno.test("writeAtomic creates private files unless told otherwise", () =>
  withTempDir(async (dir) => {
    await writeAtomic(`${dir}/key`, new Uint8Array([1, 2, 3]));
    assertEquals((await Deno.stat(`${dir}/key`)).mode! & 0o777, 0o600);
    assertEquals(await Deno.readFile(`${dir}/key`), new Uint8Array([1, 2, 3]));
  }));

Deno.test("writeAtomic into a missing directory is vmctl::fs::no_directory", () =>
  withTempDir(async (dir) => {
    const err = await assertRejects(() => writeAtomic(`${dir}/nope/x`, "x"), Diagnostic);
    assertEquals(err.code, "vmctl::fs::no_directory");
  }));

Deno.test("writeAtomicWith keeps the old file and no temp file when filling fails", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/image.iso`;
    await Deno.writeTextFile(path, "old");
    const failure = new Error("source vanished");
    const err = await assertRejects(() =>
      writeAtomicWith(path, (f) => {
        f.writeSync(new Uint8Array(10));
        throw failure;
      }, { failure: (e, created) => ({ e, created }) })
    ) as unknown as { e: unknown; created: boolean };
    assertEquals(err, { e: failure, created: true });
    assertEquals(await Deno.readTextFile(path), "old");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["image.iso"]);
  }));

Deno.test("fileProblem tells a file from a missing path and a directory", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "");
    assertEquals(fileProblem(`${dir}/f`), undefined);
    assertEquals(fileProblem(`${dir}/missing`), "missing");
    assertEquals(fileProblem(`${dir}/f/below`), "missing");
    assertEquals(fileProblem(dir), "not_a_file");
    assertEquals(describeFileProblem("missing", "image", "/x"), "image /x does not exist");
  }));

Deno.test("pathExists counts a dangling symlink", () =>
  withTempDir(async (dir) => {
    await Deno.symlink(`${dir}/nowhere`, `${dir}/link`);
    assertEquals(await pathExists(`${dir}/link`), true);
    assertEquals(await pathExists(`${dir}/nowhere`), false);
  }));

Deno.test("logTail gives the last non-empty lines without terminal escapes", () =>
  withTempDir(async (dir) => {
    const path = `${dir}/console.log`;
    await Deno.writeTextFile(path, "one\r\n\x1b[1;32mtwo\x1b[0m\r\n\n three\n");
    assertEquals(await logTail(path, 2), ["two", " three"]);
    assertEquals(await logTail(`${dir}/missing.log`, 2), undefined);
  }));
