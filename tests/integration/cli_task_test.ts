import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, ROOT, tempHome } from "../helpers/vmctl_cli.ts";

/** `cd dir && deno task --config ROOT/deno.json vmctl ARGS`, as a user would type it. */
async function task(dir: string, home: string, args: string[]) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "--config", `${ROOT}/deno.json`, "vmctl", ...args],
    cwd: dir,
    // A clean environment like a user's shell: an inherited INIT_CWD (this test may itself run
    // under `deno task test`) would be kept by deno task, as npm does.
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      XDG_DATA_HOME: home,
      VMCTL_BACKEND: "noop",
      NO_COLOR: "1",
    },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

async function withDirs(fn: (project: string, home: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  const project = await Deno.makeTempDir({ prefix: "vmctl-project-" });
  try {
    await fn(project, home);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(project, { recursive: true });
  }
}

Deno.test("deno task vmctl up --dry-run finds the VMFile in the caller's directory", async () => {
  await withDirs(async (project, home) => {
    await fakeImage(project);
    await Deno.writeTextFile(`${project}/VMFile.kdl`, 'vm "here" {\n    image "disk.qcow2"\n}\n');
    const r = await task(project, home, ["up", "--dry-run"]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "here: absent -> create");
    assertStringIncludes(r.stdout, `${project}/disk.qcow2`);
  });
});

Deno.test("deno task vmctl create resolves a relative --image against the caller's directory", async () => {
  await withDirs(async (project, home) => {
    await fakeImage(project, "mine.qcow2");
    const r = await task(project, home, ["create", "--name", "rel", "--image", "mine.qcow2"]);
    assertEquals(r.code, 0, r.stderr);
    const st = await task(project, home, ["status", "rel", "--json"]);
    assertEquals(JSON.parse(st.stdout).image_path, `${project}/mine.qcow2`);
  });
});

Deno.test("deno task vmctl up without a VMFile names the caller's directory, not the project's", async () => {
  await withDirs(async (project, home) => {
    const r = await task(project, home, ["up"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::vmfile::not_found");
    assertStringIncludes(r.stderr, project);
  });
});

Deno.test("deno task vmctl validate reads the VMFile of the caller's directory", async () => {
  await withDirs(async (project, home) => {
    await fakeImage(project);
    await Deno.writeTextFile(`${project}/VMFile.kdl`, 'vm "v" {\n    image "disk.qcow2"\n}\n');
    const r = await task(project, home, ["validate"]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, `${project}/VMFile.kdl`);
  });
});
