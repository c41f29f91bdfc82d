import { assertEquals } from "../helpers/assert.ts";
import { lex, tokText } from "../../fixtures/illumos/zonecfg_lex.ts";
import { parseShell } from "../../fixtures/illumos/zlogin_shell.ts";
import { createFakeIllumos } from "../../fixtures/illumos/mod.ts";

const words = (text: string) => lex(text).map((c) => c.toks.map(tokText));

Deno.test("the zonecfg lexer splits commands at ';' and newline and skips '#' comments", () => {
  assertEquals(words("create -b; set a=b\n# note; not a command\nend"), [
    ["create", "-b"],
    ["set", "a", "=", "b"],
    ["end"],
  ]);
  assertEquals(lex("x\n\ny")[1].line, 3);
});

Deno.test("a zonecfg quoted string has no escapes and ends at end of line when unterminated", () => {
  assertEquals(words('set value="a b;c"'), [["set", "value", "=", "a b;c"]]);
  assertEquals(words('set value="a\\"b"'), [["set", "value", "=", "a\\", "b", ""]]);
  assertEquals(words('set value="open\nend'), [["set", "value", "=", "open"], ["end"]]);
});

Deno.test("commas separate only inside zonecfg lists", () => {
  assertEquals(words("set limitpriv=default,dtrace_proc"), [[
    "set",
    "limitpriv",
    "=",
    "default,dtrace_proc",
  ]]);
  assertEquals(words("add options [ro,nodevices]"), [[
    "add",
    "options",
    "[",
    "ro",
    ",",
    "nodevices",
    "]",
  ]]);
});

Deno.test("the zlogin shell keeps quoted text whole and refuses expansions", () => {
  assertEquals(parseShell("cat > '/etc/a b' "), [{
    argv: ["cat"],
    redirs: [{ fd: 1, append: false, target: "/etc/a b" }],
    join: ";",
  }]);
  assertEquals(parseShell('echo "x\\"y" && true ').length, 2);
  assertEquals(typeof parseShell("echo `id`"), "string");
  assertEquals(typeof parseShell("ls | wc"), "string");
  assertEquals(typeof parseShell("rm /tmp/*"), "string");
});

Deno.test("OmniOS global-nic VNICs appear at boot and go away at halt", async () => {
  const fake = await createFakeIllumos({ flavor: "omnios" });
  try {
    const cfg = await fake.run("zonecfg", [
      "-z",
      "g1",
      "create -b; set zonepath=/zones/g1; set ip-type=exclusive; add net; set physical=g1net0; set global-nic=auto; end",
    ]);
    assertEquals(cfg.code, 0, cfg.stderr);
    assertEquals((await fake.run("zoneadm", ["-z", "g1", "install"])).code, 0);
    assertEquals((await fake.run("zoneadm", ["-z", "g1", "boot"])).code, 0);
    assertEquals(
      (await fake.run("dladm", ["show-vnic", "-p", "-o", "LINK,OVER"])).stdout,
      "g1net0:e1000g0\n",
    );
    const busy = await fake.run("zfs", ["destroy", "-r", "rpool/zones/g1"]);
    assertEquals([busy.code, busy.stderr], [1, "cannot unmount '/zones/g1': Device busy\n"]);
    assertEquals((await fake.run("zoneadm", ["-z", "g1", "halt"])).code, 0);
    assertEquals((await fake.run("dladm", ["show-vnic", "-p", "-o", "LINK"])).stdout, "");
  } finally {
    await fake.cleanup();
  }
});
