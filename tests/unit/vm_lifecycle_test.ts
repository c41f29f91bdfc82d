/**
 * The VM state diagram as a specification: every transition of TRANSITIONS,
 * tried from every state on the noop backend, either lands where the diagram
 * says or is refused with `vmctl::vm::invalid_state` and changes nothing.
 */
import { join } from "node:path";
import { assertEquals, assertRejects } from "../helpers/assert.ts";
import { apply } from "../../backends/apply.ts";
import { createRunner } from "../../backends/exec.ts";
import { noopBackend } from "../../backends/noop.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { pathsUnder } from "../../lib/paths.ts";
import { readStore, updateStore } from "../../lib/store.ts";
import { VM_STATES, type VmRecord, type VmState } from "../../lib/types.ts";
import type { VmContext } from "../../vm/context.ts";
import { destroyPlan, type Transition, transitionPlan, TRANSITIONS } from "../../vm/lifecycle.ts";

const ACTIONS: Transition[] = ["start", "stop", "suspend", "resume"];

async function withVmIn(
  state: VmState,
  fn: (ctx: VmContext, before: VmRecord) => Promise<void>,
): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "vmctl-lifecycle-" });
  const ctx: VmContext = {
    paths: pathsUnder(join(base, "vmctl")),
    runner: createRunner(),
    dryRun: false,
    say: () => {},
  };
  const rec: VmRecord = {
    id: "noop-a",
    name: "a",
    backend: "noop",
    state,
    work_dir: join(base, "vmctl", "vms", "a"),
    vcpus: 1,
    memory_mb: 128,
    network: { type: "user" },
    created_at: "2026-01-01T00:00:00Z",
  };
  try {
    await updateStore(ctx.paths, (doc) => void (doc.vms.a = rec));
    await fn(ctx, (await readStore(ctx.paths)).vms.a);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

for (const action of ACTIONS) {
  const edge = TRANSITIONS[action];
  for (const state of VM_STATES) {
    if (edge.from.includes(state)) {
      Deno.test(`${action} from ${state} ends ${edge.to}, with no busy mark left`, async () => {
        await withVmIn(state, async (ctx) => {
          await apply(transitionPlan(ctx, noopBackend, "a", action));
          const after = (await readStore(ctx.paths)).vms.a;
          assertEquals(after.state, edge.to);
          assertEquals(after.operation, undefined);
        });
      });
    } else {
      Deno.test(`${action} from ${state} is refused and changes nothing`, async () => {
        await withVmIn(state, async (ctx, before) => {
          const err = await assertRejects(
            () => apply(transitionPlan(ctx, noopBackend, "a", action)),
            Diagnostic,
          );
          assertEquals(err.code, "vmctl::vm::invalid_state");
          assertEquals((await readStore(ctx.paths)).vms.a, before);
        });
      });
    }
  }
}

for (const state of VM_STATES) {
  Deno.test(`destroy from ${state} removes the VM from the store`, async () => {
    await withVmIn(state, async (ctx, before) => {
      await apply(destroyPlan(ctx, noopBackend, before));
      assertEquals((await readStore(ctx.paths)).vms.a, undefined);
    });
  });
}

Deno.test("a backend that fails leaves the VM failed with the reason, not busy", async () => {
  const broken = { ...noopBackend, start: () => Promise.reject(new Error("no hypervisor")) };
  await withVmIn("stopped", async (ctx) => {
    await assertRejects(() => apply(transitionPlan(ctx, broken, "a", "start")));
    const after = (await readStore(ctx.paths)).vms.a;
    assertEquals(after.state, "failed");
    assertEquals(after.state_reason, "start failed: no hypervisor");
    assertEquals(after.operation, undefined);
  });
});
