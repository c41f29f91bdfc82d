import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, snapshot, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

const VMFILE = `vm "web" {
    image "disk.qcow2"
    vcpus 2
    memory 2048
    cloud-init {
        hostname "web"
    }
    ssh {
        user "vm"
    }
    provision "shell" {
        inline "echo hi"
    }
}
vm "db" {
    image "disk.qcow2"
}
`;

async function withProject(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fakeImage(home);
    await Deno.writeTextFile(`${home}/VMFile.kdl`, VMFILE);
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** Run a dry-run command and assert the whole directory is byte-identical afterwards. */
async function unchangedBy(home: string, args: string[]): Promise<string> {
  const before = await snapshot(home);
  const r = await vmctl(home, args);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await snapshot(home), before);
  assertStringIncludes(r.stdout, "nothing was changed");
  return r.stdout;
}

Deno.test("create --dry-run prints the plan and creates nothing, not even the data dir", async () => {
  await withProject(async (home) => {
    const out = await unchangedBy(home, [
      "create",
      "--name",
      "n",
      "--image",
      "disk.qcow2",
      "--start",
      "--dry-run",
    ]);
    const dir = `${home}/vmctl/vms/n`;
    for (
      const line of [
        "plan: create VM 'n'",
        `${home}/disk.qcow2 (local)`,
        `add VM 'n' (state failed, busy: create, until it is prepared)`,
        `undo: ${home}/vmctl/vms.json: remove VM 'n'`,
        `mkdir ${dir} (mode 0700)`,
        `undo: remove ${dir}`,
        `${dir}/seed.iso: a generated SSH key pair for user 'vm'`,
        "prepare VM 'n' on the noop backend",
        "resources: 1 vCPU(s), 1024 MB memory",
        "network:   user (SLIRP, SSH forwarded on 127.0.0.1)",
        "undo: noop backend: destroy",
        "record VM 'n' prepared",
        "plan: start VM 'n'",
        "noop backend: start",
      ]
    ) assertStringIncludes(out, line);
  });
});

Deno.test("create --dry-run without --start plans no start", async () => {
  await withProject(async (home) => {
    const out = await unchangedBy(home, [
      "create",
      "--name",
      "n",
      "--image",
      "disk.qcow2",
      "--dry-run",
    ]);
    assertStringIncludes(out, "plan: create VM 'n'");
    assertEquals(out.includes("plan: start"), false);
  });
});

Deno.test("up --dry-run on a fresh project lists every VM it would create", async () => {
  await withProject(async (home) => {
    const out = await unchangedBy(home, ["up", "--dry-run"]);
    assertStringIncludes(out, "web: absent -> create, start, provision");
    assertStringIncludes(out, "db: absent -> create, start, provision");
    assertStringIncludes(out, "resources: 2 vCPU(s), 2048 MB memory");
    assertStringIncludes(out, "plan: start VM 'web'");
    assertStringIncludes(out, "VM 'web': 1 provisioning step(s) skipped because the noop backend");
  });
});

Deno.test("up, down and reload --dry-run on existing VMs change nothing and say why", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["up"]);
    await vmctlOk(home, ["stop", "db"]);
    const up = await unchangedBy(home, ["up", "--dry-run"]);
    assertStringIncludes(up, "web: running -> skip (already running)");
    assertStringIncludes(up, "db: stopped -> start, provision\nplan: start VM 'db'");
    const down = await unchangedBy(home, ["down", "--dry-run"]);
    assertStringIncludes(down, "web: running -> stop\nplan: stop VM 'web'");
    assertStringIncludes(down, "db: already stopped: skipped");
    const destroy = await unchangedBy(home, ["down", "--destroy", "--dry-run"]);
    assertStringIncludes(destroy, "web: running -> destroy\nplan: destroy VM 'web'");
    assertStringIncludes(destroy, `remove ${home}/vmctl/vms/web`);
    const reload = await unchangedBy(home, ["reload", "--dry-run"]);
    assertStringIncludes(reload, "web: running -> destroy it, then recreate it");
    assertStringIncludes(reload, "plan: destroy VM 'web'");
    assertStringIncludes(reload, "plan: create VM 'web'");
  });
});

Deno.test("create --dry-run still refuses what create would refuse", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["create", "--name", "n", "--image", "disk.qcow2"]);
    const r = await vmctl(home, ["create", "--name", "n", "--image", "disk.qcow2", "--dry-run"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vm::exists");
  });
});

Deno.test("destroy, start and stop --dry-run print their plan and change nothing", async () => {
  await withProject(async (home) => {
    await vmctlOk(home, ["create", "--name", "n", "--image", "disk.qcow2"]);
    const destroy = await unchangedBy(home, ["destroy", "n", "--dry-run"]);
    assertStringIncludes(destroy, "plan: destroy VM 'n'");
    assertStringIncludes(destroy, "unregister VM 'n'");
    const start = await unchangedBy(home, ["start", "n", "--dry-run"]);
    assertStringIncludes(start, "its live state must be prepared, stopped, failed");
    const stop = await unchangedBy(home, ["stop", "n", "--dry-run"]);
    assertStringIncludes(stop, "plan: stop VM 'n'");
  });
});

interface PlanData {
  title: string;
  steps: { title: string; action: { kind: string }; undo: { kind: string } | null }[];
}

/** The plans of a `--dry-run --json` document, in order. */
function plansOf(doc: { courses: { stages: { plan?: PlanData }[] }[] }): PlanData[] {
  return doc.courses.flatMap((c) => c.stages.flatMap((s) => s.plan ? [s.plan] : []));
}

Deno.test("up --dry-run --json holds the same plans, steps and undos the text form prints", async () => {
  await withProject(async (home) => {
    const text = await unchangedBy(home, ["up", "--dry-run"]);
    const before = await snapshot(home);
    const r = await vmctl(home, ["up", "--dry-run", "--json"]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await snapshot(home), before);
    const plans = plansOf(JSON.parse(r.stdout));
    const rendered = plans.map((p) =>
      [
        `plan: ${p.title}`,
        ...p.steps.map((s, i) => `  ${i + 1}. ${s.title}`),
      ].join("\n")
    );
    const textPlans = text.split("\n").filter((l) => /^(plan: | {2}\d+\. )/.test(l)).join("\n");
    assertEquals(rendered.join("\n"), textPlans);
    const create = plans.find((p) => p.title === "create VM 'web'")!;
    assertEquals(create.steps.find((s) => s.action.kind === "mkdir")?.undo?.kind, "remove");
  });
});

Deno.test("--json without --dry-run is a usage error and changes nothing", async () => {
  await withProject(async (home) => {
    const before = await snapshot(home);
    const r = await vmctl(home, ["up", "--json"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "vmctl::usage::json_without_dry_run");
    assertEquals(await snapshot(home), before);
  });
});
