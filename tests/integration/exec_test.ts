import { assert, assertEquals, assertMatch, assertRejects } from "../helpers/assert.ts";
import { createRunner, formatArgv } from "../../backends/exec.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

Deno.test("the runner passes argv without a shell, so metacharacters stay literal", async () => {
  const r = await createRunner().run(["printf", "%s", "a; rm -rf / $(x) `y`"]);
  assertEquals(r.stdout, "a; rm -rf / $(x) `y`");
});

Deno.test("a failing command raises a diagnostic carrying its stderr", async () => {
  const err = await assertRejects(
    () =>
      createRunner().run(["sh", "-c", "echo bad thing >&2; exit 3"], { errorCode: "vmctl::t::f" }),
    Diagnostic,
  );
  assertEquals(err.code, "vmctl::t::f");
  assertMatch(err.message, /exit code 3/);
  assertEquals(err.details, ["bad thing"]);
});

Deno.test("check: false returns the exit code instead of throwing", async () => {
  const r = await createRunner().run(["sh", "-c", "exit 4"], { check: false });
  assertEquals(r.code, 4);
});

Deno.test("a missing program is named in a not_found diagnostic", async () => {
  const err = await assertRejects(() => createRunner().run(["no-such-tool-xyz"]), Diagnostic);
  assertEquals(err.code, "vmctl::exec::not_found");
  assertMatch(err.message, /no-such-tool-xyz/);
});

Deno.test("a command that hangs is killed at its timeout", async () => {
  const t0 = performance.now();
  const err = await assertRejects(
    () => createRunner().run(["sleep", "10"], { timeoutMs: 200 }),
    Diagnostic,
  );
  assertEquals(err.code, "vmctl::exec::timeout");
  assert(performance.now() - t0 < 10_000, "killed before the command would have ended");
});

Deno.test("stdin is delivered to the command", async () => {
  const r = await createRunner().run(["cat"], { stdin: "line1\nline2\n" });
  assertEquals(r.stdout, "line1\nline2\n");
});

Deno.test("the runner logs every command it runs, with its stdin", async () => {
  const runner = createRunner();
  await runner.run(["cat"], { stdin: "s" });
  await runner.run(["echo", "hi"]);
  assertEquals(runner.recorded, [{ argv: ["cat"], stdin: "s" }, { argv: ["echo", "hi"] }]);
});

Deno.test("formatArgv quotes arguments a reader would misread", () => {
  assertEquals(
    formatArgv(["zonecfg", "-z", "web", "set x='a b'"]),
    `zonecfg -z web 'set x='\\''a b'\\'''`,
  );
});
