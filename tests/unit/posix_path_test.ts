import * as node from "node:path";
import { assertEquals } from "../helpers/assert.ts";
import * as posix from "../../lib/posix_path.ts";

const SAMPLES = [
  "",
  ".",
  "..",
  "/",
  "//",
  "///a",
  "a",
  "a/",
  "a//b",
  "a/./b",
  "a/../b",
  "../a",
  "../../a/..",
  "/a/b/../../..",
  "/a/./b/",
  "/..",
  "a/b/c/../../..",
  "./",
  "~/x",
  "a/b/",
  "/x/y/..",
  ".hidden",
  "a/..",
  "a/../..",
  "/tmp//vmctl/./vms/../vms/x/",
];

Deno.test("normalize, dirname, basename and isAbsolute agree with node:path", () => {
  for (const p of SAMPLES) {
    assertEquals(posix.normalize(p), node.normalize(p), `normalize ${JSON.stringify(p)}`);
    assertEquals(posix.dirname(p), node.dirname(p), `dirname ${JSON.stringify(p)}`);
    assertEquals(posix.basename(p), node.basename(p), `basename ${JSON.stringify(p)}`);
    assertEquals(posix.isAbsolute(p), node.isAbsolute(p), `isAbsolute ${JSON.stringify(p)}`);
  }
});

Deno.test("join and resolve agree with node:path", () => {
  for (const a of SAMPLES) {
    for (const b of ["", "x", "/abs", "../up", "y/"]) {
      assertEquals(posix.join(a, b), node.join(a, b), `join ${JSON.stringify([a, b])}`);
      assertEquals(posix.resolve(a, b), node.resolve(a, b), `resolve ${JSON.stringify([a, b])}`);
    }
  }
  assertEquals(posix.join(), node.join());
  assertEquals(posix.resolve(), node.resolve());
});
