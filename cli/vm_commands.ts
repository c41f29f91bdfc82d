/**
 * Registers the imperative VM commands (the book's CLI reference): create,
 * start, stop, destroy, list, status, console, suspend, resume, log. Each
 * action imports its implementation lazily, so `vmctl list` loads only what
 * listing needs.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { collect } from "./repeatable.ts";
import {
  DEFAULT_SSH_USER,
  DESTROY_STOP_TIMEOUT_MS,
  inSeconds,
  STOP_TIMEOUT_MS,
} from "../lib/defaults.ts";
import { PLAN_JSON_HELP } from "../lib/plan.ts";

/** `vmctl snapshot create|list|restore|delete`. */
// deno-lint-ignore no-explicit-any
function registerSnapshotCommands(program: Command<any, any, any>): void {
  const snapshot = program
    .command("snapshot")
    .description("snapshots of a VM: with its memory while it runs, of its disk when stopped");
  snapshot
    .command("create")
    .description("take a snapshot (a running VM: disk, memory and devices)")
    .argument("<name>", "VM name")
    .argument("<snap>", "snapshot name")
    .option("--disk-only", "only the disk, even when the VM runs")
    .option("--dry-run", "print the plan; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, snap, opts) => {
      const { snapshotCommand } = await import("./vm/snapshot.ts");
      await snapshotCommand("create", name, snap, opts);
    });
  snapshot
    .command("list")
    .description("list a VM's snapshots: name, time, size, with or without memory")
    .argument("<name>", "VM name")
    .option("--json", "machine-readable output")
    .action(async (name, opts) => {
      const { snapshotListCommand } = await import("./vm/snapshot.ts");
      await snapshotListCommand(name, opts);
    });
  for (
    const [action, what] of [
      ["restore", "bring the VM back to a snapshot (files, memory, running processes)"],
      ["delete", "delete a snapshot"],
    ] as const
  ) {
    snapshot
      .command(action)
      .description(what)
      .argument("<name>", "VM name")
      .argument("<snap>", "snapshot name")
      .option("--dry-run", "print the plan; change nothing")
      .option("--json", PLAN_JSON_HELP)
      .action(async (name, snap, opts) => {
        const { snapshotCommand } = await import("./vm/snapshot.ts");
        await snapshotCommand(action, name, snap, opts);
      });
  }
}

/** Registers this group's commands on `program`. */
// deno-lint-ignore no-explicit-any
export function registerVmCommands(program: Command<any, any, any>): void {
  program
    .command("create")
    .description("create a new VM (and optionally start it)")
    .requiredOption("--name <name>", "VM name")
    .option("--image <path>", "local disk image")
    .option(
      "--image-url <url>",
      "download the image from this http(s) URL or oci:// reference (cached)",
    )
    .option("--image-sha256 <hex>", "expected SHA-256 of the --image-url download")
    .option("--vcpus <n>", "number of virtual CPUs", "1")
    .option("--memory <mb>", "memory in MB", "1024")
    .option("--disk <gb>", "disk size in GB (overlay resize)")
    .option("--bridge <name>", "bridge for TAP networking (implies --network tap)")
    .option(
      "--network <mode>",
      "user | tap | none | vnic (default: user, or tap with --bridge; vnic: illumos)",
    )
    .option(
      "--vnic <name>",
      "the guest's VNIC (implies --network vnic; default: named after the VM)",
    )
    .option("--link <link>", "the link the guest's VNIC goes over (--network vnic)")
    .option("--pool <name>", "zone pool the guest's address comes from (--network vnic)")
    .option("--ssh-port <port>", "the guest's SSH port (default: 22)")
    .option(
      "--forward <spec>",
      "forward HOST:GUEST[/udp] or IP:HOST:GUEST (user network; 127.0.0.1 by default; repeatable)",
      collect,
    )
    .option("--mount <spec>", "share HOST_DIR:GUEST_DIR[:ro] over virtio-9p (repeatable)", collect)
    .option("--cloud-init <file>", "raw cloud-init user-data file, passed through unchanged")
    .option("--ssh-key <pubfile>", "SSH public key to authorise (default: a generated key pair)")
    .option("--user <name>", "SSH user created in the guest", DEFAULT_SSH_USER)
    .option("--uefi", "boot with UEFI firmware (OVMF)")
    .option("--accel <mode>", "kvm | tcg | auto (default: $VMCTL_ACCEL or auto)")
    .option("--vnc", "enable a VNC display on 127.0.0.1")
    .option("--start", "start the VM after creating it")
    .option("--dry-run", "print what would be created; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (opts) => {
      const { createCommand } = await import("./vm/create.ts");
      await createCommand(opts);
    });

  program
    .command("start")
    .description("start a prepared or stopped VM")
    .argument("<name>", "VM name")
    .option("--accel <accel>", "accelerator for this start: kvm, tcg or auto (default: as created)")
    .option("--fresh", "boot afresh: discard the state `stop --save` kept instead of resuming it")
    .option("--new-port", "choose a new SSH forward port and record it (when the old one is taken)")
    .option("--dry-run", "print the plan; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => {
      const { transitionCommand } = await import("./vm/lifecycle.ts");
      await transitionCommand("start", name, opts);
    });

  for (
    const [action, what] of [
      ["suspend", "suspend (pause) a running VM"],
      ["resume", "resume a suspended VM"],
    ] as const
  ) {
    program
      .command(action)
      .description(what)
      .argument("<name>", "VM name")
      .option("--dry-run", "print the plan; change nothing")
      .option("--json", PLAN_JSON_HELP)
      .action(async (name, opts) => {
        const { transitionCommand } = await import("./vm/lifecycle.ts");
        await transitionCommand(action, name, opts);
      });
  }

  program
    .command("stop")
    .description("stop a running VM (ACPI power-down, then SIGTERM, then SIGKILL)")
    .argument("<name>", "VM name")
    .option("--timeout <seconds>", "graceful shutdown timeout", inSeconds(STOP_TIMEOUT_MS))
    .option("--save", "save the running state; the next start resumes it instead of booting")
    .option("--dry-run", "print the plan; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => {
      const { transitionCommand } = await import("./vm/lifecycle.ts");
      await transitionCommand("stop", name, opts);
    });

  registerSnapshotCommands(program);

  program
    .command("destroy")
    .description("stop a VM if it runs, remove its files and unregister it")
    .argument("<name>", "VM name")
    .option(
      "--timeout <seconds>",
      "graceful shutdown timeout when it is running",
      inSeconds(DESTROY_STOP_TIMEOUT_MS),
    )
    .option("--dry-run", "print the plan; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => {
      const { destroyCommand } = await import("./vm/lifecycle.ts");
      await destroyCommand(name, opts);
    });

  program
    .command("list")
    .description("list all VMs")
    .option("--json", "machine-readable output")
    .action(async (opts) => {
      const { listCommand } = await import("./vm/list.ts");
      await listCommand(opts);
    });

  program
    .command("status")
    .description("show everything known about a VM")
    .argument("<name>", "VM name")
    .option("--json", "machine-readable output")
    .action(async (name, opts) => {
      const { statusCommand } = await import("./vm/list.ts");
      await statusCommand(name, opts);
    });

  program
    .command("console")
    .description("attach to a VM's serial console (Ctrl+] detaches)")
    .argument("<name>", "VM name")
    .action(async (name) => {
      const { consoleCommand } = await import("./vm/console.ts");
      await consoleCommand(name);
    });

  program
    .command("log")
    .description("show a VM's console and provision logs")
    .argument("<name>", "VM name")
    .option("--console", "only the console log (boot / cloud-init output)")
    .option("--provision", "only the provision log")
    .option("-n, --tail <n>", "only the last N lines (0 = all)", "0")
    .action(async (name, opts) => {
      const { logCommand } = await import("./vm/log.ts");
      await logCommand(name, opts);
    });
}
