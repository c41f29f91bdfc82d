/**
 * `deno task bench up`: `vmctl up` to a provisioned, reachable VM, against a
 * raw hand-written script (qemu-img + qemu-system-x86_64 + an ssh polling
 * loop) booting the same image with the same seed ISO, alternately, in the
 * same run. Target: ratio < 1.05.
 *
 * Method: the guest image from scripts/build-guest-image.sh, TCG, 2 vCPUs,
 * 1 GiB. vmctl: `vmctl up` of a VMFile with one `inline "true"` provisioner
 * (so `up` returns only after an SSH login worked), through `deno run
 * main.ts` (start-up included). Raw: the same seed.iso, known_hosts and key
 * copied from vmctl's preceding run, a fresh overlay, the same guest-visible
 * devices, `ssh true` retried every 0.5 s, then one `ssh true` (the
 * provisioner). BENCH_ROUNDS (default 2) pairs.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { guestImage } from "../../tests/helpers/guest_image.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 2);

const RAW_SCRIPT = String.raw`#!/bin/bash
# The hand-written way: overlay, daemonized QEMU, poll ssh until a login works.
set -eu
dir=$1 image=$2 port=$3
qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$dir/overlay.qcow2" 3G
qemu-system-x86_64 -machine q35,accel=tcg -m 1024M -smp 2 -nodefaults -display none \
  -device virtio-rng-pci \
  -drive file="$dir/overlay.qcow2",format=qcow2,if=none,id=drive0 -device virtio-blk-pci,drive=drive0 \
  -netdev user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22 -device virtio-net-pci,netdev=net0 \
  -device virtio-scsi-pci,id=scsi0 \
  -drive file="$dir/seed.iso",format=raw,if=none,id=cd0,media=cdrom,readonly=on \
  -device scsi-cd,drive=cd0,bus=scsi0.0 \
  -serial file:"$dir/console.log" -daemonize -pidfile "$dir/qemu.pid"
ssh_() {
  ssh -F none -p "$port" -i "$dir/key" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$dir/known_hosts" -o HostKeyAlias=vmctl-bench -o ConnectTimeout=5 \
    -o LogLevel=ERROR vm@127.0.0.1 "$@"
}
until ssh_ true 2>/dev/null; do sleep 0.5; done
ssh_ true
`;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function run(argv: string[], env: Record<string, string> = {}, cwd?: string) {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `${argv.join(" ")} failed (${out.code}):\n${dec.decode(out.stdout)}\n${
        dec.decode(out.stderr)
      }`,
    );
  }
  return dec.decode(out.stdout);
}

const image = await guestImage();
const home = await Deno.makeTempDir({ prefix: "vmctl-bench-up-" });
const env = { XDG_DATA_HOME: home, VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg", NO_COLOR: "1" };
const vmctl = (args: string[]) =>
  run([Deno.execPath(), "run", "-A", join(ROOT, "main.ts"), ...args], env, home);
await Deno.writeTextFile(
  join(home, "VMFile.kdl"),
  `vm "bench" {
    image "${image}"
    vcpus 2
    memory 1024
    disk 3
    cloud-init {
        hostname "bench"
    }
    ssh {
        user "vm"
    }
    provision "shell" {
        inline "true"
    }
}
`,
);
const times: { vmctl: number[]; raw: number[] } = { vmctl: [], raw: [] };
const rawDir = join(home, "raw");
try {
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = performance.now();
    await vmctl(["up", "--timeout", "600"]);
    times.vmctl.push(performance.now() - t0);
    const work = join(home, "vmctl", "vms", "bench");
    await Deno.mkdir(rawDir, { recursive: true });
    await Deno.copyFile(join(work, "seed.iso"), join(rawDir, "seed.iso"));
    await Deno.copyFile(join(work, "id_ed25519_generated"), join(rawDir, "key"));
    await Deno.copyFile(join(work, "known_hosts"), join(rawDir, "known_hosts"));
    await vmctl(["down", "--destroy"]);

    await Deno.writeTextFile(join(rawDir, "raw.sh"), RAW_SCRIPT);
    t0 = performance.now();
    try {
      await run(["bash", join(rawDir, "raw.sh"), rawDir, image, String(freePort())]);
      times.raw.push(performance.now() - t0);
    } finally {
      const pid = Number(await Deno.readTextFile(join(rawDir, "qemu.pid")).catch(() => "0"));
      if (pid > 0) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await new Promise((r) => setTimeout(r, 500));
      await Deno.remove(rawDir, { recursive: true });
    }
    console.error(
      `round ${round + 1}: vmctl ${(times.vmctl[round] / 1000).toFixed(1)} s, raw ${
        (times.raw[round] / 1000).toFixed(1)
      } s`,
    );
  }
} finally {
  await vmctl(["down", "--destroy"]).catch(() => {});
  await Deno.remove(home, { recursive: true }).catch(() => {});
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
console.log(
  `machine: ${Deno.build.os} ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, load ${
    Deno.loadavg().map((l) => l.toFixed(2)).join(" ")
  }; TCG; ${ROUNDS} alternating pairs`,
);
console.log("| run | vmctl up (to provisioned) | raw qemu + ssh poll | ratio |");
console.log("|---|---|---|---|");
for (let i = 0; i < ROUNDS; i++) {
  console.log(
    `| ${i + 1} | ${s(times.vmctl[i])} | ${s(times.raw[i])} | ${
      (times.vmctl[i] / times.raw[i]).toFixed(3)
    } |`,
  );
}
console.log(
  `| median | ${s(median(times.vmctl))} | ${s(median(times.raw))} | ${
    (median(times.vmctl) / median(times.raw)).toFixed(3)
  } |`,
);
