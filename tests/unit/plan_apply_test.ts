import { assert, assertEquals, assertMatch, assertRejects } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { plan, planJson, renderPlan, type Step } from "../../lib/plan.ts";
import {
  apply,
  type Failure,
  NOTHING_TO_UNDO,
  runUndo,
  storeStep,
  taskStep,
  writeStep,
} from "../../backends/apply.ts";
import type { Runner } from "../../backends/exec.ts";

/** A step that records its run and its undo in `log`; `fail` makes its run throw. */
function recorded(log: string[], name: string, o: { fail?: boolean; afterFailure?: boolean } = {}) {
  return taskStep(`do ${name}`, name, () => {
    log.push(`run ${name}`);
    if (o.fail) return Promise.reject(new Diagnostic("vmctl::test::boom", `${name} broke`));
    return Promise.resolve();
  }, {
    action: { kind: "task", detail: `undo ${name}` },
    afterFailure: o.afterFailure,
    run: () => Promise.resolve(log.push(`undo ${name}`)),
  });
}

Deno.test("apply runs every step in order and undoes nothing on success", async () => {
  const log: string[] = [];
  const result = await apply(plan("p", [recorded(log, "a"), recorded(log, "b")]));
  assertEquals(log, ["run a", "run b"]);
  assertEquals(result.ran, ["do a", "do b"]);
});

Deno.test("a failed step undoes the completed steps in reverse and keeps the cause's code", async () => {
  const log: string[] = [];
  const p = plan("make thing", [
    recorded(log, "a"),
    recorded(log, "b"),
    recorded(log, "c", { fail: true }),
  ]);
  const err = await assertRejects(() => apply(p), Diagnostic);
  assertEquals(log, ["run a", "run b", "run c", "undo b", "undo a"]);
  assertEquals(err.code, "vmctl::test::boom");
  assertMatch(err.message, /^make thing failed \(could not do c\): c broke$/);
  assertEquals(err.details, ["rolled back: undo b", "rolled back: undo a"]);
});

Deno.test("an undo marked afterFailure also runs when its own step failed", async () => {
  const log: string[] = [];
  const p = plan("p", [recorded(log, "a"), recorded(log, "b", { fail: true, afterFailure: true })]);
  await assertRejects(() => apply(p), Diagnostic);
  assertEquals(log, ["run a", "run b", "undo b", "undo a"]);
});

Deno.test("steps after the failed one never run and are not listed as rolled back", async () => {
  const log: string[] = [];
  const p = plan("p", [recorded(log, "a", { fail: true }), recorded(log, "b")]);
  const err = await assertRejects(() => apply(p), Diagnostic);
  assertEquals(log, ["run a"]);
  assertEquals(err.details, []);
});

Deno.test("a failing undo is reported and the remaining undos still run", async () => {
  const log: string[] = [];
  const broken: Step = taskStep("do x", "x", () => Promise.resolve(), {
    action: { kind: "task", detail: "undo x" },
    run: () => Promise.reject(new Error("cannot")),
  });
  const p = plan("p", [recorded(log, "a"), broken, recorded(log, "c", { fail: true })]);
  const err = await assertRejects(() => apply(p), Diagnostic);
  assertEquals(log, ["run a", "run c", "undo a"]);
  assertEquals(err.details[0], "ROLLBACK FAILED: undo x: internal error: cannot");
  assertEquals(err.details[1], "rolled back: undo a");
});

Deno.test("the renderer prints each step's command, stdin and undo", () => {
  const p = plan("create zone web01", [{
    title: "configure the zone",
    action: {
      kind: "run",
      argv: ["zonecfg", "-z", "web01", "-f", "-"],
      stdin: "create -b\ncommit\n",
    },
    run: () => Promise.resolve(),
    undo: {
      action: { kind: "run", argv: ["zonecfg", "-z", "web01", "delete", "-F"] },
      run: () => Promise.resolve(),
    },
  }, {
    title: "write the first-boot configuration",
    action: { kind: "write", path: "/z/web01/root/etc/sysding.conf", mode: 0o600, text: "a=1\n" },
    run: () => Promise.resolve(),
  }]);
  assertEquals(
    renderPlan(p),
    [
      "plan: create zone web01",
      "  1. configure the zone",
      "       $ zonecfg -z web01 -f - <<'EOF'",
      "       create -b",
      "       commit",
      "       EOF",
      "       undo: $ zonecfg -z web01 delete -F",
      "  2. write the first-boot configuration",
      "       write /z/web01/root/etc/sysding.conf (mode 0600)",
      "       | a=1",
    ].join("\n"),
  );
});

Deno.test("the JSON form carries each step's action and undo as data", () => {
  const step = taskStep(
    "download the image",
    "GET http://x/img into the cache",
    () => Promise.resolve(),
  );
  const json = planJson(plan("up", [step]));
  assertEquals(json, {
    title: "up",
    steps: [{
      title: "download the image",
      action: { kind: "task", detail: "GET http://x/img into the cache" },
      undo: null,
    }],
  });
  assert(JSON.stringify(json));
});

Deno.test("keepCause rethrows the step's own diagnostic after undoing, unchanged", async () => {
  const log: string[] = [];
  const p = plan("start VM 'a'", [recorded(log, "a"), recorded(log, "b", { fail: true })]);
  const err = await assertRejects(() => apply(p, { keepCause: true }), Diagnostic);
  assertEquals(log, ["run a", "run b", "undo a"]);
  assertEquals(err.message, "b broke");
  assertEquals(err.details, []);
});

Deno.test("a task's detail renders one fact a line", () => {
  const p = plan("p", [taskStep("prepare", "2 vCPU(s)\nnetwork user", () => Promise.resolve())]);
  assertEquals(renderPlan(p), "plan: p\n  1. prepare\n       2 vCPU(s)\n       network user");
});

Deno.test("an undo that resolves to NOTHING_TO_UNDO is not listed as rolled back", async () => {
  const log: string[] = [];
  const idle: Step = taskStep("do x", "x", () => Promise.reject(new Error("half-done")), {
    action: { kind: "task", detail: "undo x" },
    afterFailure: true,
    run: () => Promise.resolve(NOTHING_TO_UNDO),
  });
  const err = await assertRejects(() => apply(plan("p", [recorded(log, "a"), idle])), Diagnostic);
  assertEquals(err.details, ["rolled back: undo a"]);
});

Deno.test("runUndo whose condition is false runs nothing and is not listed", async () => {
  const runner = fakeRunner();
  const undo = runUndo(runner, ["zonecfg", "-z", "z1", "delete", "-F"], {
    afterFailure: true,
    when: () => Promise.resolve(false),
  });
  const failing = taskStep("configure", "zonecfg", () => Promise.reject(new Error("exit 1")), undo);
  const err = await assertRejects(() => apply(plan("p", [failing])), Diagnostic);
  assertEquals(runner.recorded, []);
  assertEquals(err.details, []);
});

Deno.test("the wording options replace the message and the default hint", async () => {
  const log: string[] = [];
  const err = await assertRejects(
    () =>
      apply(plan("p", [recorded(log, "a", { fail: true })]), {
        what: "creating zone z1",
        message: (f: Failure) => `${f.what} stopped at ${f.step?.title}: ${f.cause.message}`,
        hint: "run the create again",
      }),
    Diagnostic,
  );
  assertEquals(err.message, "creating zone z1 stopped at do a: a broke");
  assertEquals(err.hint, "run the create again");
});

Deno.test("store and write steps carry their change as data", () => {
  const noop = () => Promise.resolve();
  const json = planJson(plan("p", [
    storeStep("reserve", "/r/zones/z1.kdl", "reserve 10.0.0.2/24", noop, {
      action: { kind: "store", file: "/r/zones/z1.kdl", change: "remove" },
      run: noop,
    }),
    writeStep("write it", { path: "/z/f", mode: 0o600, text: "a\n" }, noop),
  ]));
  assertEquals(json.steps, [{
    title: "reserve",
    action: { kind: "store", file: "/r/zones/z1.kdl", change: "reserve 10.0.0.2/24" },
    undo: { kind: "store", file: "/r/zones/z1.kdl", change: "remove" },
  }, {
    title: "write it",
    action: { kind: "write", path: "/z/f", mode: 0o600, text: "a\n" },
    undo: null,
  }]);
});

/** A runner that records and succeeds. */
function fakeRunner(): Runner {
  const recorded: { argv: string[] }[] = [];
  return {
    recorded,
    run(argv) {
      recorded.push({ argv });
      return Promise.resolve({ code: 0, stdout: "", stderr: "" });
    },
  };
}
