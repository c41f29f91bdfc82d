// The remote side of ssh is a shell: every word vmctl sends must reach the
// program unchanged. Checked against real shells (sh and bash), not a model.
import { assertEquals, assertMatch, assertThrows } from "../helpers/assert.ts";
import { runScriptCommand, shJoin, shQuote, uploadCommand } from "../../backends/ssh/args.ts";

const HOSTILE = [
  "",
  "plain",
  "with space",
  "it's",
  "''",
  "'; rm -rf / #",
  "$(touch /tmp/vmctl-pwned)",
  "`id`",
  "$HOME ${PATH}",
  "line1\nline2",
  "tab\there",
  "-rf",
  "--",
  "*",
  "a\\b\\\\c",
  '"double"',
  "semi;colon&amp|pipe>redir<in",
  "ünïcödé ☃",
  "!event",
];

async function shellEcho(shell: string, words: string[]): Promise<string[]> {
  const script = `for a in ${shJoin(words)}; do printf '%s\\0' "$a"; done`;
  const out = await new Deno.Command(shell, { args: ["-c", script], stdout: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  return text === "" ? [] : text.slice(0, -1).split("\0");
}

for (const shell of ["sh", "bash"]) {
  Deno.test(`shQuote passes hostile words through ${shell} unchanged`, async () => {
    assertEquals(await shellEcho(shell, HOSTILE), HOSTILE);
  });
}

Deno.test("shQuote refuses a NUL byte (no shell can carry it)", () => {
  assertThrows(() => shQuote("a\0b"), Error, "NUL");
});

Deno.test("uploadCommand writes under umask 077 and sets the local mode in octal", () => {
  const cmd = uploadCommand("/tmp/x y", 0o100755);
  assertEquals(cmd, "umask 077 && cat > '/tmp/x y' && chmod 0755 -- '/tmp/x y'");
});

Deno.test("runScriptCommand stores stdin in a fresh file, runs it, removes it, keeps the exit code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-quote-it's " });
  try {
    const child = new Deno.Command("sh", {
      args: ["-c", runScriptCommand(dir)],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode('#!/bin/sh\necho "ran as $(basename "$0")"\nexit 7\n'));
    await w.close();
    const out = await child.output();
    assertEquals(out.code, 7);
    assertMatch(new TextDecoder().decode(out.stdout), /^ran as vmctl-provision-[A-Za-z0-9]{10}\n$/);
    assertEquals([...Deno.readDirSync(dir)].length, 0, "script removed after running");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runScriptCommand never writes through a file planted at a guessable name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-quote-" });
  try {
    // A victim file and symlinks to it under names an attacker might guess.
    await Deno.writeTextFile(`${dir}/victim`, "keep me\n", { mode: 0o600 });
    for (const name of ["vmctl-provision-XXXXXXXXXX", "vmctl-provision-.sh"]) {
      await Deno.symlink(`${dir}/victim`, `${dir}/${name}`);
    }
    const child = new Deno.Command("sh", {
      args: ["-c", runScriptCommand(dir)],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("#!/bin/sh\nexit 0\n"));
    await w.close();
    assertEquals((await child.output()).code, 0);
    assertEquals(await Deno.readTextFile(`${dir}/victim`), "keep me\n");
    assertEquals((await Deno.stat(`${dir}/victim`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
