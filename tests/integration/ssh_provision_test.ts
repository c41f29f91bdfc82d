// Provisioning steps run over the real ssh client against a real sshd:
// order, logging, script clean-up, modes, and stopping at the first failure.
import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../helpers/assert.ts";
import { Diagnostic, type SourceSpan } from "../../lib/diagnostics.ts";
import { runProvisioners } from "../../backends/provision.ts";
import { LineSink } from "../../backends/ssh/output.ts";
import type { ProvisionStep } from "../../lib/vmfile/types.ts";
import { type SshFixture, sshFixture } from "./ssh_fixture.ts";

const span = (line: number): SourceSpan => ({ file: "/x/VMFile.kdl", line, column: 5 });

async function withWorld(
  fn: (fx: SshFixture, port: number, work: string, sink: Captured) => Promise<void>,
) {
  const fx = await sshFixture();
  try {
    const sshd = await fx.startSshd(await fx.freePort());
    const work = join(fx.dir, "work");
    await Deno.mkdir(work, { mode: 0o700 });
    await fn(fx, sshd.port, work, captured());
  } finally {
    await fx.cleanup();
  }
}

interface Captured {
  sink: LineSink;
  out: () => string;
  err: () => string;
}
function captured(prefix?: string): Captured {
  const o = { out: "", err: "" };
  const dec = new TextDecoder();
  const sink = new LineSink(prefix, (fd, b) => (o[fd] += dec.decode(b)));
  return { sink, out: () => o.out, err: () => o.err };
}

Deno.test("provisioners run in order: inline, script, file; output streams and is logged", () =>
  withWorld(async (fx, port, work, cap) => {
    const script = join(fx.dir, "setup.sh");
    await Deno.writeTextFile(
      script,
      `#!/bin/sh\necho "script at $0"\necho script-err >&2\necho 2 >> ${fx.dir}/order\n`,
    );
    const conf = join(fx.dir, "app.conf");
    await Deno.writeTextFile(conf, "key=value\n");
    await Deno.chmod(conf, 0o640);
    const dest = join(fx.dir, "uploaded.conf");
    const steps: ProvisionStep[] = [
      { kind: "shell", inline: `echo inline-ran; echo 1 >> ${fx.dir}/order`, span: span(3) },
      { kind: "shell", script, span: span(4) },
      { kind: "file", source: conf, destination: dest, span: span(5) },
    ];
    await runProvisioners(fx.target(port), { name: "web", work_dir: work }, steps, {
      timeoutMs: 60_000,
      out: cap.sink,
    });
    assertEquals(await Deno.readTextFile(join(fx.dir, "order")), "1\n2\n");
    assertEquals(await Deno.readTextFile(dest), "key=value\n");
    assertEquals((await Deno.stat(dest)).mode! & 0o777, 0o640);
    assertStringIncludes(cap.out(), "inline-ran\n");
    assertStringIncludes(cap.err(), "script-err\n");
    // The script ran from a fresh file that is gone afterwards.
    const ranAt = cap.out().match(/script at (\S+)/)![1];
    assertMatch(ranAt, /^\/tmp\/vmctl-provision-/);
    assertEquals(await Deno.stat(ranAt).then(() => true, () => false), false);
    const log = await Deno.readTextFile(join(work, "provision.log"));
    assertMatch(log, /=== \d{4}-\d\d-\d\dT[\d:.]+Z step 1\/3: shell inline: echo inline-ran/);
    assertStringIncludes(log, `step 2/3: shell script: ${script}`);
    assertStringIncludes(log, `step 3/3: file ${conf} -> ${dest}`);
    assertStringIncludes(log, "inline-ran\n");
    assertStringIncludes(log, "script-err\n");
    assertStringIncludes(log, "=== step 3 exited with code 0");
    assertEquals((await Deno.stat(join(work, "provision.log"))).mode! & 0o777, 0o600);
  }));

Deno.test("a failing provisioner stops the run with its step number, kind and exit code", () =>
  withWorld(async (fx, port, work, cap) => {
    const steps: ProvisionStep[] = [
      { kind: "shell", inline: "echo first", span: span(3) },
      { kind: "shell", inline: "echo about to fail >&2; exit 7", span: span(4) },
      { kind: "shell", inline: `touch ${fx.dir}/third-ran`, span: span(5) },
    ];
    let err: unknown;
    try {
      await runProvisioners(fx.target(port), { name: "web", work_dir: work }, steps, {
        timeoutMs: 60_000,
        out: cap.sink,
      });
    } catch (e) {
      err = e;
    }
    assert(err instanceof Diagnostic, String(err));
    assertEquals(err.code, "vmctl::provision::step_failed");
    assertStringIncludes(err.message, "step 2 of 3 (shell inline)");
    assertStringIncludes(err.message, "exit code 7");
    assertStringIncludes(err.message, "steps 3-3 did not run");
    assertEquals(err.span?.line, 4);
    assertEquals(err.details, ["about to fail"]);
    assertEquals(await Deno.stat(join(fx.dir, "third-ran")).then(() => true, () => false), false);
    assertStringIncludes(
      await Deno.readTextFile(join(work, "provision.log")),
      "=== step 2 exited with code 7",
    );
  }));

Deno.test("a failed upload stops the run as a file step failure", () =>
  withWorld(async (fx, port, work, cap) => {
    const src = join(fx.dir, "a.txt");
    await Deno.writeTextFile(src, "a");
    const steps: ProvisionStep[] = [
      { kind: "file", source: src, destination: join(fx.dir, "missing/dir/a.txt"), span: span(3) },
      { kind: "shell", inline: `touch ${fx.dir}/second-ran`, span: span(4) },
    ];
    let err: unknown;
    try {
      await runProvisioners(fx.target(port), { name: "web", work_dir: work }, steps, {
        timeoutMs: 60_000,
        out: cap.sink,
      });
    } catch (e) {
      err = e;
    }
    assert(err instanceof Diagnostic);
    assertStringIncludes(err.message, "step 1 of 2 (file)");
    assertEquals(await Deno.stat(join(fx.dir, "second-ran")).then(() => true, () => false), false);
  }));

Deno.test("with several VMs, every output line carries the VM name", () =>
  withWorld(async (fx, port, work) => {
    const cap = captured("db");
    const steps: ProvisionStep[] = [
      { kind: "shell", inline: "printf 'a\\nb'; sleep 0.2; printf 'c\\nd\\n'", span: span(3) },
    ];
    await runProvisioners(fx.target(port), { name: "db", work_dir: work }, steps, {
      timeoutMs: 60_000,
      out: cap.sink,
    });
    const lines = cap.out().trimEnd().split("\n");
    assert(lines.every((l) => l.startsWith("db | ")), cap.out());
    assertStringIncludes(cap.out(), "db | a\ndb | bc\ndb | d\n");
  }));
