import { assertEquals, assertRejects, assertThrows } from "../helpers/assert.ts";
import { execInteractive, execStreaming, execSync } from "../../backends/exec.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";

const text = (chunks: Uint8Array[]) =>
  new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));

Deno.test("execSync returns the exit code and stdout of a short query", () => {
  assertEquals(execSync(["sh", "-c", "printf 'pid 1'; exit 3"]), { code: 3, stdout: "pid 1" });
});

Deno.test("every run shape names a missing program with vmctl::exec::not_found", async () => {
  const argv = ["vmctl-no-such-program"];
  const e = assertThrows(() => execSync(argv), Diagnostic);
  assertEquals(e.code, "vmctl::exec::not_found");
  const s = await assertRejects(() => execStreaming(argv), Diagnostic);
  assertEquals(s.code, "vmctl::exec::not_found");
  const i = await assertRejects(() => execInteractive(argv), Diagnostic);
  assertEquals(i.code, "vmctl::exec::not_found");
});

Deno.test("execStreaming passes stdout and stderr on and feeds stdin", async () => {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const r = await execStreaming(["sh", "-c", "cat; echo warn >&2; exit 4"], {
    stdin: new TextEncoder().encode("fed\n"),
    onStdout: (c) => out.push(c),
    onStderr: (c) => err.push(c),
  });
  assertEquals([r.code, r.timedOut, r.stderrTail], [4, false, "warn\n"]);
  assertEquals([text(out), text(err)], ["fed\n", "warn\n"]);
});

Deno.test("execStreaming kills a command that outlives its timeout and says so", async () => {
  const r = await execStreaming(["sleep", "30"], { timeoutMs: 50 });
  assertEquals(r.timedOut, true);
});

Deno.test("execInteractive resolves with the child's exit status", async () => {
  assertEquals((await execInteractive(["sh", "-c", "exit 5"])).code, 5);
});
