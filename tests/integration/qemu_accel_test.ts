/**
 * Accelerator choice: tcg never probes; kvm needs the device; auto uses KVM
 * only when /dev/kvm opens and a probe guest runs, and remembers the probe's
 * verdict for this host boot. The device check and the probe are injected,
 * so every branch is asserted on any host (with or without /dev/kvm); one
 * test runs the real probe and only checks that its verdict is coherent.
 */
import { join } from "node:path";
import { chooseAccel, type KvmHost } from "../../backends/qemu/host.ts";
import { createRunner } from "../../backends/exec.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { withTempDir } from "../helpers/temp_dir.ts";

/** A host whose device check and probe give fixed answers, counting probes. */
function fakeHost(deviceProblem: string | null, probeProblem: string | null) {
  const host = {
    probes: 0,
    deviceProblem: () => deviceProblem,
    probe: () => {
      host.probes++;
      return Promise.resolve(probeProblem);
    },
  };
  return host satisfies KvmHost;
}

Deno.test("tcg is used as asked, without checking the device or probing", async () => {
  const host = fakeHost("/dev/kvm does not exist", null);
  const runner = createRunner();
  assertEquals(await chooseAccel("tcg", runner, "/nonexistent", undefined, host), {
    accel: "tcg",
  });
  assertEquals([runner.recorded.length, host.probes], [0, 0]);
});

Deno.test("kvm without a usable device is refused with kvm_unavailable", async () => {
  const host = fakeHost("/dev/kvm does not exist", null);
  const err = await assertRejects(
    () => chooseAccel("kvm", createRunner(), "/nonexistent", undefined, host),
    Diagnostic,
  );
  assertEquals(err.code, "vmctl::qemu::kvm_unavailable");
});

Deno.test("kvm with a usable device is used as asked, without probing", async () => {
  const host = fakeHost(null, "never asked");
  assertEquals(await chooseAccel("kvm", createRunner(), "/x", undefined, host), { accel: "kvm" });
  assertEquals(host.probes, 0);
});

Deno.test("auto without /dev/kvm falls back to TCG saying why, without probing", async () => {
  const host = fakeHost("/dev/kvm does not exist", null);
  const choice = await chooseAccel("auto", createRunner(), "/x", undefined, host);
  assertEquals(choice, {
    accel: "tcg",
    notice: "KVM not usable (/dev/kvm does not exist); using TCG (slower)",
  });
  assertEquals(host.probes, 0);
});

Deno.test("auto with a failing probe falls back to TCG saying why", async () => {
  const host = fakeHost(null, "the KVM probe guest failed (exit 1)");
  const choice = await chooseAccel("auto", createRunner(), "/x", undefined, host);
  assertEquals(choice, {
    accel: "tcg",
    notice: "KVM not usable (the KVM probe guest failed (exit 1)); using TCG (slower)",
  });
});

Deno.test("auto with a working probe uses KVM", async () => {
  const host = fakeHost(null, null);
  assertEquals(await chooseAccel("auto", createRunner(), "/x", undefined, host), { accel: "kvm" });
  assertEquals(host.probes, 1);
});

for (const verdict of [null, "the KVM probe guest failed (exit 1)"]) {
  Deno.test(`auto probes once per boot and reuses the verdict (${verdict ?? "KVM works"})`, () =>
    withTempDir(async (dir) => {
      const cache = join(dir, "kvm-probe.json");
      const host = fakeHost(null, verdict);
      const a = await chooseAccel("auto", createRunner(), dir, cache, host);
      const b = await chooseAccel("auto", createRunner(), dir, cache, host);
      assertEquals(b, a);
      assertEquals(host.probes, 1, "the cached verdict is reused");
      assertEquals(JSON.parse(await Deno.readTextFile(cache)).problem, verdict);
    }));
}

Deno.test("auto on this host gives KVM, or TCG with the reason", () =>
  withTempDir(async (dir) => {
    const choice = await chooseAccel("auto", createRunner(), dir);
    if (choice.accel === "tcg") {
      assert(choice.notice?.startsWith("KVM not usable ("), choice.notice);
    } else assertEquals(choice, { accel: "kvm" });
    assertEquals([...Deno.readDirSync(dir)], [], "the probe leaves nothing behind");
  }));
