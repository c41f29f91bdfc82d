/**
 * `vmctl completion bash|zsh|fish`: the printed script is loaded into a real
 * shell, with `vmctl` on PATH (a launcher for this checkout, noop backend),
 * VMs made by `vmctl create`, an image pulled from a local HTTP server and a
 * zone registry made by `vmctl zone` on the fake illumos host; then the
 * completion function is driven with COMP_WORDS/COMP_CWORD (bash), through
 * bashcompinit's functions (zsh) or `complete -C` (fish).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../helpers/assert.ts";
import { fakeImage, MAIN, ROOT, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";
import { startServer } from "./image_helpers.ts";
import { zoneTestEnv } from "./zone_harness.ts";

interface Shells {
  home: string;
  bin: string;
  registry: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** A launcher `name` in `bin` running `target` with deno, arguments passed on. */
async function launcher(bin: string, name: string, target: string): Promise<void> {
  const path = join(bin, name);
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nexec ${JSON.stringify(Deno.execPath())} run -q -A ${JSON.stringify(target)} "$@"\n`,
  );
  await Deno.chmod(path, 0o755);
}

async function setup(): Promise<Shells> {
  const home = await tempHome();
  const bin = join(home, "bin");
  await Deno.mkdir(bin);
  await launcher(bin, "vmctl", MAIN);
  const image = await fakeImage(home);
  for (const name of ["web1", "web2", "db"]) {
    await vmctlOk(home, ["create", "--name", name, "--image", image]);
  }
  const server = startServer();
  server.files.set("/base.qcow2", { body: new Uint8Array(4096) });
  try {
    await vmctlOk(home, ["image", "pull", `${server.base}/base.qcow2`, "--name", "debian-base"]);
  } finally {
    await server.close();
  }
  const zones = await zoneTestEnv();
  await zones.ok(["create", "zweb", "--no-boot"]);
  const env = {
    ...Deno.env.toObject(), // deno's cache and certificates
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    XDG_DATA_HOME: home,
    VMCTL_BACKEND: "noop",
    NO_COLOR: "1",
  };
  return {
    home,
    bin,
    registry: zones.root,
    env,
    async cleanup() {
      await zones.cleanup();
      await Deno.remove(home, { recursive: true });
    },
  };
}

async function run(cmd: string, args: string[], env: Record<string, string>, cwd?: string) {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Write `program completion SHELL` to a file in the home; returns its path. */
async function script(s: Shells, shell: string, program = "vmctl"): Promise<string> {
  const r = await run(program, ["completion", shell], s.env);
  assertEquals(r.code, 0, r.stderr);
  const path = join(s.home, `${program}.${shell}`);
  await Deno.writeTextFile(path, r.stdout);
  return path;
}

/** COMPREPLY of bash's completion function for the command line `words` (last: the word typed). */
async function bashComplete(s: Shells, file: string, words: string[]): Promise<string[]> {
  const fn = `_${words[0]}_complete`;
  const r = await run(
    "bash",
    [
      "--norc",
      "-c",
      `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); ${fn}; ` +
      `printf '%s\\n' "\${COMPREPLY[@]}"`,
      "bash",
      file,
      ...words,
    ],
    s.env,
    s.home,
  );
  assertEquals(r.stderr, "");
  assertEquals(r.code, 0);
  return r.stdout.split("\n").filter((l) => l !== "").sort();
}

Deno.test("bash completion", async (t) => {
  const s = await setup();
  try {
    const file = await script(s, "bash");
    const complete = (...words: string[]) => bashComplete(s, file, words);

    await t.step("the script registers a completion function for vmctl", async () => {
      const r = await run(
        "bash",
        ["--norc", "-c", `source "$1"; complete -p vmctl`, "bash", file],
        s.env,
      );
      assertEquals(r.stdout.trim(), "complete -F _vmctl_complete vmctl");
    });

    await t.step("top-level commands come from the program, hidden ones left out", async () => {
      const got = await complete("vmctl", "");
      for (const c of ["create", "start", "image", "zone", "completion", "up"]) {
        assert(got.includes(c), `${c} in ${got}`);
      }
      assert(!got.includes("__complete"));
    });

    await t.step("a group's subcommands", async () => {
      assertEquals(await complete("vmctl", "zone", "pool", ""), [
        "create",
        "edit",
        "help",
        "list",
        "rm",
        "show",
      ]);
    });

    await t.step("a command's options, by prefix", async () => {
      assertEquals(await complete("vmctl", "create", "--image"), [
        "--image",
        "--image-sha256",
        "--image-url",
      ]);
    });

    await t.step("an option's choices", async () => {
      assertEquals(await complete("vmctl", "create", "--network", ""), [
        "none",
        "tap",
        "user",
        "vnic",
      ]);
    });

    await t.step("VM names for a command that takes a VM", async () => {
      assertEquals(await complete("vmctl", "start", ""), ["db", "web1", "web2"]);
      assertEquals(await complete("vmctl", "stop", "--timeout", "5", "we"), ["web1", "web2"]);
    });

    await t.step("VM names for an option naming a VM", async () => {
      assertEquals(await complete("vmctl", "up", "--name", "d"), ["db"]);
    });

    await t.step("a new VM's name is not completed from existing ones", async () => {
      assertEquals(await complete("vmctl", "create", "--name", ""), []);
    });

    await t.step("cached image names", async () => {
      assertEquals(await complete("vmctl", "image", "rm", ""), ["debian-base"]);
    });

    await t.step("zones, pools and templates of the registry given with --root", async () => {
      const root = ["--root", s.registry];
      assertEquals(await complete("vmctl", "zone", "show", ...root, ""), ["zweb"]);
      assertEquals(await complete("vmctl", "zone", "pool", "show", ...root, ""), ["default"]);
      assertEquals(await complete("vmctl", "zone", "template", "rm", ...root, ""), [
        "ipkg",
        "nlipkg",
      ]);
      assertEquals(await complete("vmctl", "zone", "create", "z2", ...root, "--pool", ""), [
        "default",
      ]);
    });

    await t.step("file paths for a path option", async () => {
      await Deno.writeTextFile(join(s.home, "VMFile.kdl"), "");
      assertEquals(await complete("vmctl", "up", "--file", "VMF"), ["VMFile.kdl"]);
    });
  } finally {
    await s.cleanup();
  }
});

Deno.test("__complete prints nothing and exits 0 when there is nothing to list", async () => {
  const home = await tempHome();
  try {
    for (const kind of ["vms", "images", "zones", "pools", "templates", "bogus"]) {
      const r = await vmctl(home, ["__complete", kind, "--root", join(home, "none")]);
      assertEquals([r.code, r.stdout, r.stderr], [0, "", ""], kind);
    }
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("__complete prints nothing and exits 0 when it may not read the data", async () => {
  const home = await tempHome();
  try {
    await vmctlOk(home, ["create", "--name", "web1", "--image", await fakeImage(home)]);
    const denied = await vmctl(home, ["__complete", "vms"], { perms: ["--allow-env"] });
    assertEquals([denied.code, denied.stdout, denied.stderr], [0, "", ""]);
    await Deno.writeTextFile(join(home, "vmctl", "vms.json"), "{ not json");
    const broken = await vmctl(home, ["__complete", "vms"]);
    assertEquals([broken.code, broken.stdout, broken.stderr], [0, "", ""]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("zmgr's completion script completes zmgr's commands and zone names", async () => {
  const s = await setup();
  try {
    const bundle = join(s.home, "vmctl.js");
    const b = await run(Deno.execPath(), ["bundle", "-q", "-o", bundle, MAIN], s.env, ROOT);
    assertEquals(b.code, 0, b.stderr);
    await Deno.symlink(bundle, join(s.home, "zmgr"));
    await launcher(s.bin, "zmgr", join(s.home, "zmgr"));
    const file = await script(s, "bash", "zmgr");
    const complete = (...words: string[]) => bashComplete(s, file, words);
    const top = await complete("zmgr", "");
    assert(top.includes("pool") && top.includes("completion") && !top.includes("zone"), `${top}`);
    assertEquals(await complete("zmgr", "halt", "--root", s.registry, ""), ["zweb"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("the zmgr launcher (main.ts zone) prints the same zmgr script and completes zones", async () => {
  const s = await setup();
  try {
    const path = join(s.bin, "zmgr");
    const deno = JSON.stringify(Deno.execPath());
    await Deno.writeTextFile(
      path,
      `#!/bin/sh\nexec ${deno} run -q -A ${JSON.stringify(MAIN)} zone "$@"\n`,
    );
    await Deno.chmod(path, 0o755);
    const file = await script(s, "bash", "zmgr");
    assertEquals(await bashComplete(s, file, ["zmgr", "pool", ""]), [
      "create",
      "edit",
      "help",
      "list",
      "rm",
      "show",
    ]);
    assertEquals(await bashComplete(s, file, ["zmgr", "show", "--root", s.registry, ""]), ["zweb"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("zsh loads the zsh script and completes a VM name", async () => {
  const s = await setup();
  try {
    const file = await script(s, "zsh");
    // compgen and COMP_WORDS as zsh's _bash_complete sets them, with sh options as its compgen.
    const r = await run(
      "zsh",
      [
        "-f",
        "-c",
        `source "$1" || exit 9; print -r -- "$_comps[vmctl]"; ` +
        `emulate sh -c 'COMP_WORDS=(vmctl start w); COMP_CWORD=2; _vmctl_complete; ` +
        `printf "%s\\n" "\${COMPREPLY[@]}"'`,
        "zsh",
        file,
      ],
      s.env,
      s.home,
    );
    assertEquals(r.stderr, "");
    assertEquals(r.code, 0);
    const [registration, ...names] = r.stdout.trim().split("\n");
    assertEquals(registration, "_bash_complete -F _vmctl_complete");
    // zsh's compgen leaves prefix matching to zsh's own matcher: every VM comes back.
    assertEquals(names.sort(), ["db", "web1", "web2"]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("fish loads the fish script and completes a VM name", async () => {
  const s = await setup();
  try {
    const file = await script(s, "fish");
    const r = await run(
      "fish",
      [
        "--no-config",
        "-c",
        `source $argv[1]; or exit 9; complete -C 'vmctl start we'; complete -C 'vmctl zone pool '`,
        file,
      ],
      s.env,
      s.home,
    );
    assertEquals(r.stderr, "");
    assertEquals(r.code, 0);
    const got = r.stdout.trim().split("\n").map((l) => l.split("\t")[0]);
    assertEquals(got, ["web1", "web2", "create", "edit", "help", "list", "rm", "show"]);
  } finally {
    await s.cleanup();
  }
});
