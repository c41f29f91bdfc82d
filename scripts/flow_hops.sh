#!/bin/bash
# Which project files `vmctl up` passes through before the QEMU argv is built.
# Copies the tree given (default: this one), makes buildQemuArgv print its stack and exit, runs
# `vmctl up` on a one-VM project with the QEMU backend under V8 coverage, and prints
#   stack: the project files on the call stack when the argv is built
#   ran:   the project files in which a function ran before that point
# Usage: scripts/flow_hops.sh [TREE]      (needs qemu-img; QEMU itself never starts)
set -euo pipefail
tree=$(cd "${1:-$(dirname "$0")/..}" && pwd)
deno=(npx -y deno@2.9.6)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$tree" "$work/tree"
"${deno[@]}" eval '
  const p = Deno.args[0];
  const head = "export function buildQemuArgv(l: QemuLaunch): string[] {";
  const s = Deno.readTextFileSync(p);
  if (!s.includes(head)) throw new Error("buildQemuArgv not found in " + p);
  Deno.writeTextFileSync(p, s.replace(head, head +
    " Object.assign(Error, { stackTraceLimit: 200 }); console.error(`STACK${new Error().stack}`);" +
    " Deno.exit(0);"));
' "$work/tree/backends/qemu/argv.ts"
mkdir "$work/project"
cd "$work/project"
qemu-img create -f qcow2 disk.qcow2 10M >/dev/null
printf 'vm "h" {\n    image "disk.qcow2"\n    memory 128\n    accel "tcg"\n}\n' >VMFile.kdl
XDG_DATA_HOME="$work/data" VMCTL_BACKEND=qemu \
  "${deno[@]}" run -A --coverage="$work/cov" "$work/tree/main.ts" up >/dev/null 2>"$work/stderr" || true
"${deno[@]}" eval '
  const [work] = Deno.args;
  const root = `file://${work}/tree/`;
  const stack = [...Deno.readTextFileSync(`${work}/stderr`).matchAll(/file:\/\/[^:)]+/g)]
    .map((m) => m[0]).filter((u) => u.startsWith(root)).map((u) => u.slice(root.length));
  if (stack.length === 0) throw new Error("the argv was never built:\n" + Deno.readTextFileSync(`${work}/stderr`));
  const ran = [];
  for (const e of Deno.readDirSync(`${work}/cov`)) {
    const d = JSON.parse(Deno.readTextFileSync(`${work}/cov/${e.name}`));
    if (!d.url?.startsWith(root)) continue;
    if (d.functions.some((f) => f.functionName && f.ranges[0].count > 0)) ran.push(d.url.slice(root.length));
  }
  const uniq = [...new Set(stack)];
  console.log(`stack: ${uniq.length} files\n  ${uniq.join("\n  ")}`);
  console.log(`ran: ${ran.length} files (cli/: ${ran.filter((f) => f.startsWith("cli/")).length})\n  ${ran.sort().join("\n  ")}`);
' "$work"
