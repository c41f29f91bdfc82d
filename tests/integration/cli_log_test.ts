import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

async function withVm(fn: (home: string, workDir: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await vmctlOk(home, ["create", "--name", "l", "--image", await fakeImage(home)]);
    await fn(home, `${home}/vmctl/vms/l`);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const CONSOLE = "boot 1\nboot 2\nboot 3\nlogin:";

Deno.test("log with no logs yet says so and fails", async () => {
  await withVm(async (home) => {
    const r = await vmctl(home, ["log", "l"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::log::not_found");
  });
});

Deno.test("log --console prints the console log as is", async () => {
  await withVm(async (home, wd) => {
    await Deno.writeTextFile(`${wd}/console.log`, CONSOLE);
    assertEquals(await vmctlOk(home, ["log", "l", "--console"]), CONSOLE + "\n");
  });
});

Deno.test("log --tail N prints the last N lines", async () => {
  await withVm(async (home, wd) => {
    await Deno.writeTextFile(`${wd}/console.log`, CONSOLE + "\n");
    assertEquals(await vmctlOk(home, ["log", "l", "--console", "-n", "2"]), "boot 3\nlogin:\n");
  });
});

Deno.test("log shows the console log and says the provision log is missing, without failing", async () => {
  await withVm(async (home, wd) => {
    await Deno.writeTextFile(`${wd}/console.log`, CONSOLE);
    const r = await vmctl(home, ["log", "l"]);
    assertEquals(r.code, 0);
    assertStringIncludes(r.stdout, "=== console log");
    assertStringIncludes(r.stdout, "login:");
    assertStringIncludes(r.stderr, "no provision log yet");
  });
});

Deno.test("log --provision prints only the provision log", async () => {
  await withVm(async (home, wd) => {
    await Deno.writeTextFile(`${wd}/console.log`, CONSOLE);
    await Deno.writeTextFile(`${wd}/provision.log`, "=== Step 1: true ===\n");
    assertEquals(await vmctlOk(home, ["log", "l", "--provision"]), "=== Step 1: true ===\n");
  });
});

Deno.test("log copies non-UTF-8 console bytes unchanged", async () => {
  await withVm(async (home, wd) => {
    const bytes = new Uint8Array([0x62, 0xff, 0xfe, 0x0a]);
    await Deno.writeFile(`${wd}/console.log`, bytes);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../main.ts", import.meta.url).pathname,
        "log",
        "l",
        "--console",
      ],
      env: { XDG_DATA_HOME: home, VMCTL_BACKEND: "noop" },
    }).output();
    assertEquals(out.code, 0);
    assertEquals(out.stdout, bytes);
  });
});

Deno.test("log refuses a bad --tail value as a usage error", async () => {
  await withVm(async (home) => {
    const r = await vmctl(home, ["log", "l", "--tail", "-3"]);
    assertEquals(r.code, 2);
  });
});
