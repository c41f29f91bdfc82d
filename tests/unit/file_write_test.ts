import { WRITE_PIECE, writeAllSync } from "../../lib/file_write.ts";
import { assertEquals } from "../helpers/assert.ts";
import { host } from "../../host/mod.ts";

Deno.test("writeAllSync writes every byte of a buffer spanning many pieces, in order", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const data = new Uint8Array(3 * WRITE_PIECE + 123).map((_, i) => (i * 7) & 0xff);
    const path = `${dir}/out`;
    const f = host.openSync(path, { createNew: true, write: true });
    writeAllSync(f, data.subarray(0, 10));
    writeAllSync(f, data.subarray(10));
    f.close();
    assertEquals(Deno.readFileSync(path), data);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
