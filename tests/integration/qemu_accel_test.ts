/**
 * Accelerator choice: tcg never probes; auto runs a real probe guest under
 * KVM (when /dev/kvm opens) and remembers the verdict for this host boot.
 */
import { join } from "node:path";
import { chooseAccel } from "../../backends/qemu/host.ts";
import { createRunner } from "../../backends/exec.ts";
import { assert, assertEquals } from "../helpers/assert.ts";

Deno.test("tcg is used as asked, without probing", async () => {
  const runner = createRunner();
  assertEquals(await chooseAccel("tcg", runner, "/nonexistent"), { accel: "tcg" });
  assertEquals(runner.recorded.length, 0);
});

Deno.test("auto probes once per boot and says why it fell back to TCG", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = join(dir, "kvm-probe.json");
    const first = createRunner();
    const a = await chooseAccel("auto", first, dir, cache);
    if (a.accel === "tcg") assert(a.notice?.startsWith("KVM not usable ("), a.notice);
    const second = createRunner();
    const b = await chooseAccel("auto", second, dir, cache);
    assertEquals(b, a);
    assertEquals(second.recorded.length, 0, "the cached verdict is reused");
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["kvm-probe.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
