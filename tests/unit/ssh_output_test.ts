// Where provisioning output goes: prefixed terminal lines and provision.log.
import { join } from "node:path";
import { assertEquals, assertMatch } from "../helpers/assert.ts";
import { LineSink, ProvisionLog } from "../../backends/ssh/output.ts";
import { stepLabel } from "../../backends/provision.ts";

const enc = new TextEncoder();

function capture(prefix?: string) {
  const got = { out: "", err: "" };
  const dec = new TextDecoder();
  const sink = new LineSink(prefix, (fd, b) => (got[fd] += dec.decode(b)));
  return { sink, got };
}

Deno.test("without a prefix, output passes through byte for byte", () => {
  const { sink, got } = capture();
  sink.stdout(enc.encode("par"));
  sink.stdout(enc.encode("tial\nline"));
  sink.stderr(enc.encode("err\n"));
  sink.flush();
  assertEquals(got, { out: "partial\nline", err: "err\n" });
});

Deno.test("with a prefix, lines split across chunks get one prefix each", () => {
  const { sink, got } = capture("web");
  sink.stdout(enc.encode("a\nb"));
  sink.stdout(enc.encode("c\n\nd"));
  sink.flush();
  assertEquals(got.out, "web | a\nweb | bc\nweb | \nweb | d\n");
});

Deno.test("with a prefix, stdout and stderr keep separate partial lines", () => {
  const { sink, got } = capture("db");
  sink.stdout(enc.encode("out-"));
  sink.stderr(enc.encode("err-"));
  sink.stdout(enc.encode("1\n"));
  sink.stderr(enc.encode("2\n"));
  assertEquals(got, { out: "db | out-1\n", err: "db | err-2\n" });
});

Deno.test("a multi-byte character split across chunks is not mangled", () => {
  const { sink, got } = capture("v");
  const bytes = enc.encode("☃\n");
  sink.stdout(bytes.subarray(0, 2));
  sink.stdout(bytes.subarray(2));
  assertEquals(got.out, "v | ☃\n");
});

Deno.test("provision.log is created 0600 and gets a header and footer per step", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-plog-" });
  try {
    const path = join(dir, "provision.log");
    const log = await ProvisionLog.open(path);
    await log.header(1, 2, "shell inline: echo hi");
    log.write(enc.encode("hi")); // no trailing newline: the footer still starts a line
    await log.footer(1, 0, "0.12");
    log.close();
    const text = await Deno.readTextFile(path);
    assertMatch(
      text,
      /^=== \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z step 1\/2: shell inline: echo hi ===\nhi\n=== step 1 exited with code 0 after 0.12 s ===\n$/,
    );
    assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("step labels name the kind and what runs", () => {
  const span = { file: "f", line: 1, column: 1 };
  assertEquals(stepLabel({ kind: "shell", inline: "make", span }), "shell inline: make");
  assertEquals(stepLabel({ kind: "shell", script: "/p/s.sh", span }), "shell script: /p/s.sh");
  assertEquals(
    stepLabel({ kind: "file", source: "/p/a", destination: "/tmp/a", span }),
    "file /p/a -> /tmp/a",
  );
});
