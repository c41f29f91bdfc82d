/**
 * The QEMU command line, built as an argv array (never a shell string). Every
 * value placed inside a comma-separated QEMU option goes through
 * {@link qemuOptValue}, so a path or name with a comma can neither break the
 * option nor inject another one.
 *
 * @module
 */
import {
  FORWARD_PROTOS,
  isIpv4,
  isPort,
  mountTag,
  type PortForward,
  type SharedFolder,
} from "../../lib/forwards.ts";
import type { NetworkConfig } from "../../lib/types.ts";

/** Escape a value for QEMU's `key=value,key=value` option syntax (`,` becomes `,,`). */
export function qemuOptValue(v: string): string {
  if (/[\n\r\0]/.test(v)) throw new Error(`refusing a QEMU option value with a control character`);
  return v.replaceAll(",", ",,");
}

/** Everything that decides the command line of one start. */
export interface QemuLaunch {
  name: string;
  accel: "kvm" | "tcg";
  vcpus: number;
  memoryMb: number;
  overlayPath: string;
  seedIsoPath?: string | null;
  qmpSocket: string;
  consoleSocket: string;
  consoleLog: string;
  pidFile: string;
  network: NetworkConfig;
  mac: string;
  /** Host port forwarded to guest port 22 (user networking). */
  sshHostPort?: number;
  /** The guest's SSH port the host port forwards to (default 22). */
  sshGuestPort?: number;
  /** Further forwards (user networking). */
  forwards?: PortForward[];
  /** Host directories shared over virtio-9p, tagged vmctl0, vmctl1, ... in order. */
  mounts?: SharedFolder[];
  /** qemu-bridge-helper path (tap networking). */
  bridgeHelper?: string;
  vnc: boolean;
  /** OVMF code + the VM's own vars copy (UEFI). */
  firmware?: { code: string; vars: string };
  /** Start from this internal snapshot (memory and disk) instead of booting. */
  loadvm?: string;
}

/** Build the argv for `qemu-system-x86_64` (first element included). */
export function buildQemuArgv(l: QemuLaunch): string[] {
  const o = qemuOptValue;
  const argv = [
    "qemu-system-x86_64",
    "-name",
    `${o(l.name)},process=vmctl-${o(l.name)}`,
    "-machine",
    `q35,accel=${l.accel}`,
  ];
  // -cpu host only where KVM runs the guest; TCG cannot provide the host CPU model.
  if (l.accel === "kvm") argv.push("-cpu", "host");
  argv.push(
    "-nodefaults",
    "-no-user-config",
    "-smp",
    String(l.vcpus),
    "-m",
    `${l.memoryMb}M`,
    "-qmp",
    `unix:${o(l.qmpSocket)},server=on,wait=off`,
    "-chardev",
    `socket,id=serial0,path=${o(l.consoleSocket)},server=on,wait=off,logfile=${
      o(l.consoleLog)
    },logappend=off`,
    "-serial",
    "chardev:serial0",
    "-device",
    "virtio-rng-pci",
    "-drive",
    `file=${o(l.overlayPath)},format=qcow2,if=none,id=drive0,discard=unmap`,
    "-device",
    "virtio-blk-pci,drive=drive0,bootindex=0",
  );
  if (l.firmware) {
    argv.push(
      "-drive",
      `if=pflash,format=raw,unit=0,readonly=on,file=${o(l.firmware.code)}`,
      "-drive",
      `if=pflash,format=raw,unit=1,file=${o(l.firmware.vars)}`,
    );
  }
  argv.push(...networkArgs(l), ...mountArgs(l.mounts ?? []));
  if (l.seedIsoPath) {
    // virtio-scsi, not IDE: Debian cloud kernels have no AHCI driver, so an IDE CD-ROM on q35
    // is invisible to them (measured; see environment.md).
    argv.push(
      "-device",
      "virtio-scsi-pci,id=scsi0",
      "-drive",
      `file=${o(l.seedIsoPath)},format=raw,if=none,id=cd0,media=cdrom,readonly=on`,
      "-device",
      "scsi-cd,drive=cd0,bus=scsi0.0",
    );
  }
  if (l.vnc) {
    // a display device for VNC to show, and the first free display from :0, loopback only
    argv.push("-device", "VGA", "-vnc", "127.0.0.1:0,to=99");
  } else {
    argv.push("-display", "none");
  }
  if (l.loadvm) argv.push("-loadvm", l.loadvm);
  argv.push("-daemonize", "-pidfile", l.pidFile);
  return argv;
}

function networkArgs(l: QemuLaunch): string[] {
  const o = qemuOptValue;
  const nic = ["-device", `virtio-net-pci,netdev=net0,mac=${o(l.mac)}`];
  switch (l.network.type) {
    case "user": {
      if (!l.sshHostPort) throw new Error("user networking needs an SSH host port");
      const ssh: PortForward = {
        proto: "tcp",
        host_ip: "127.0.0.1",
        host_port: l.sshHostPort,
        guest_port: l.sshGuestPort ?? 22,
      };
      const fwds = [ssh, ...(l.forwards ?? [])].map((f) => `,hostfwd=${hostfwd(f)}`).join("");
      return ["-netdev", `user,id=net0${fwds}`, ...nic];
    }
    case "tap": {
      if (!l.bridgeHelper) throw new Error("tap networking needs the bridge helper");
      return [
        "-netdev",
        `bridge,id=net0,br=${o(l.network.bridge)},helper=${o(l.bridgeHelper)}`,
        ...nic,
      ];
    }
    default:
      return [];
  }
}

/**
 * One `hostfwd=` value. Every part is checked against its rule here, where the
 * option is built, so no stored or typed value can carry a `,` or `:` into
 * QEMU's option string.
 */
export function hostfwd(f: PortForward): string {
  const ok = (FORWARD_PROTOS as readonly string[]).includes(f.proto) && isIpv4(f.host_ip) &&
    isPort(f.host_port) && isPort(f.guest_port);
  if (!ok) throw new Error(`refusing a malformed forward ${JSON.stringify(f)}`);
  return `${f.proto}:${f.host_ip}:${f.host_port}-:${f.guest_port}`;
}

/**
 * virtio-9p shares. security_model=none: the guest's files are plain host
 * files owned by the user running vmctl (no xattrs, any host filesystem),
 * which is what a shared source folder needs; `readonly=on` makes QEMU itself
 * refuse writes, whatever the guest mounts.
 */
function mountArgs(mounts: SharedFolder[]): string[] {
  return mounts.flatMap((m, i) => [
    "-fsdev",
    `local,id=fs${i},path=${qemuOptValue(m.host_path)},security_model=none${
      m.readonly ? ",readonly=on" : ""
    }`,
    "-device",
    `virtio-9p-pci,fsdev=fs${i},mount_tag=${mountTag(i)}`,
  ]);
}
