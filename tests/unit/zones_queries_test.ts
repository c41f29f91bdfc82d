import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { allQueries } from "../../backends/zones/system.ts";

Deno.test("allQueries waits for every query before it throws the first failure", async () => {
  let slowFinished = false;
  const slow = new Promise<number>((resolve) =>
    setTimeout(() => {
      slowFinished = true;
      resolve(1);
    }, 20)
  );
  await assertRejects(
    () => allQueries<[number, number]>([Promise.reject(new Error("query failed")), slow]),
    Error,
    "query failed",
  );
  assert(slowFinished, "no query is left running behind the failure");
});

Deno.test("allQueries returns every answer in order", async () => {
  assertEquals(await allQueries<[string, number]>([Promise.resolve("a"), Promise.resolve(2)]), [
    "a",
    2,
  ]);
});
