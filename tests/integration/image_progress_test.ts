/**
 * Download progress: a redrawn bar with bytes, rate and ETA on a terminal,
 * plain lines (rate-limited) otherwise, nothing when disabled.
 */
import { createProgress, formatBytes } from "../../lib/image/progress.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";

Deno.test("sizes are shown in binary units with one decimal", () => {
  assertEquals(formatBytes(512), "512 B");
  assertEquals(formatBytes(1536), "1.5 KiB");
  assertEquals(formatBytes(650 * 1024 * 1024), "650.0 MiB");
  assertEquals(formatBytes(3 * 1024 ** 3), "3.0 GiB");
});

Deno.test("a terminal gets one redrawn bar line with percent, bytes, rate and ETA", () => {
  const out: string[] = [];
  const p = createProgress("debian.qcow2", { enabled: true, tty: true, write: (s) => out.push(s) });
  p.update(512 * 1024, 1024 * 1024); // first update draws (nothing drawn before)
  p.finish(1024 * 1024);
  assert(out[0].startsWith("\r\x1b[K"));
  assertMatch(out[0], /debian\.qcow2 \[#+ +\] {2}50% 512\.0 KiB \/ 1\.0 MiB .*\/s ETA \d+:\d\d/);
  assert(out.at(-1)!.endsWith("\n"));
  assertMatch(out.at(-1)!, /100% 1\.0 MiB \/ 1\.0 MiB/);
});

Deno.test("a log gets plain lines, at most one per 5 s, and a final line", () => {
  const out: string[] = [];
  const p = createProgress("x.img", { enabled: true, tty: false, write: (s) => out.push(s) });
  for (let i = 1; i <= 100; i++) p.update(i * 1024, 100 * 1024);
  p.finish(100 * 1024);
  assertEquals(out.length, 2);
  assert(out.every((l) => !l.includes("\r") && !l.includes("[#") && l.endsWith("\n")));
});

Deno.test("disabled progress prints nothing", () => {
  const out: string[] = [];
  const p = createProgress("x", { enabled: false, write: (s) => out.push(s) });
  p.update(1, 2);
  p.finish(2);
  assertEquals(out, []);
});
