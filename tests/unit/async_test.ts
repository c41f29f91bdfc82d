import { assertEquals, assertRejects } from "../helpers/assert.ts";
import { abortable, deadline, sleep } from "../../lib/async.ts";

Deno.test("deadline settles like the promise when it settles in time", async () => {
  assertEquals(await deadline(Promise.resolve("done"), 1_000), "done");
  await assertRejects(() => deadline(Promise.reject(new Error("own")), 1_000), Error, "own");
});

Deno.test("deadline rejects with the onTimeout error when the promise never settles", async () => {
  const never = new Promise<never>(() => {});
  await assertRejects(
    () => deadline(never, 1, { onTimeout: () => new RangeError("too late") }),
    RangeError,
    "too late",
  );
});

Deno.test("deadline rejects with a TimeoutError without onTimeout", async () => {
  const err = await deadline(new Promise<never>(() => {}), 0).catch((e) => e);
  assertEquals((err as DOMException).name, "TimeoutError");
});

Deno.test("deadline stops early with the caller's abort reason", async () => {
  const c = new AbortController();
  const waiting = deadline(new Promise<never>(() => {}), 60_000, { signal: c.signal });
  c.abort(new Error("interrupted"));
  await assertRejects(() => waiting, Error, "interrupted");
});

Deno.test("sleep rejects with the abort reason and a negative wait is none", async () => {
  await sleep(-5);
  const c = new AbortController();
  const waiting = sleep(60_000, c.signal);
  c.abort(new Error("stop"));
  await assertRejects(() => waiting, Error, "stop");
  await assertRejects(() => abortable(Promise.resolve(1), c.signal), Error, "stop");
});
