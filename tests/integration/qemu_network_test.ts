/**
 * QEMU networking and the command line: guest address discovery matches the
 * VM's MAC only; every path in an option is comma-escaped; TAP networking
 * really attaches the VM's tap to the bridge (through qemu-bridge-helper).
 */
import { join } from "node:path";
import { buildQemuArgv, type QemuLaunch, qemuOptValue } from "../../backends/qemu/argv.ts";
import {
  ipFromDnsmasqLeases,
  ipFromLibvirtStatus,
  ipFromNeigh,
} from "../../backends/qemu/network.ts";
import { qemuBackend } from "../../backends/qemu/mod.ts";
import { execCommand } from "../../backends/exec.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { assert, assertEquals, assertRejects } from "../helpers/assert.ts";
import { blankImage, killIfAlive, newVm, qemuFixture } from "./qemu_helpers.ts";

const MAC = "52:54:00:ab:cd:ef";

Deno.test("ip neigh matching picks the VM's MAC, never the first neighbour", () => {
  const out = [
    "10.0.0.1 dev br0 lladdr 52:54:00:11:11:11 REACHABLE",
    "10.0.0.7 dev br0 lladdr 52:54:00:AB:CD:EF STALE",
    "10.0.0.9 dev br0 lladdr 52:54:00:ab:cd:ef FAILED",
  ].join("\n");
  assertEquals(ipFromNeigh(out, MAC), "10.0.0.7");
  assertEquals(ipFromNeigh("10.0.0.1 dev br0 lladdr 52:54:00:11:11:11 REACHABLE", MAC), null);
});

Deno.test("dnsmasq and libvirt leases are matched by MAC, the newest lease wins", () => {
  const leases = [
    "1700000000 52:54:00:ab:cd:ef 192.168.122.10 g1 *",
    "1700000001 52:54:00:99:99:99 192.168.122.11 other *",
    "1700000002 52:54:00:ab:cd:ef 192.168.122.12 g1 *",
  ].join("\n");
  assertEquals(ipFromDnsmasqLeases(leases, MAC), "192.168.122.12");
  assertEquals(ipFromDnsmasqLeases("1 52:54:00:99:99:99 192.168.122.11 x *", MAC), null);
  const status = JSON.stringify([
    { "ip-address": "192.168.122.50", "mac-address": "52:54:00:99:99:99" },
    { "ip-address": "192.168.122.51", "mac-address": MAC },
  ]);
  assertEquals(ipFromLibvirtStatus(status, MAC), "192.168.122.51");
  assertEquals(ipFromLibvirtStatus("not json", MAC), null);
});

function launch(over: Partial<QemuLaunch> = {}): QemuLaunch {
  return {
    name: "vm1",
    accel: "tcg",
    vcpus: 2,
    memoryMb: 1024,
    overlayPath: "/d,x/overlay.qcow2",
    seedIsoPath: "/d,x/seed.iso",
    qmpSocket: "/d,x/qmp.sock",
    consoleSocket: "/d,x/console.sock",
    consoleLog: "/d,x/console.log",
    pidFile: "/d,x/qemu.pid",
    network: { type: "user" },
    mac: MAC,
    sshHostPort: 41234,
    vnc: false,
    ...over,
  };
}

Deno.test("a comma in a path is doubled, so it cannot add a QEMU option", () => {
  assertEquals(qemuOptValue("/a,file=/etc/shadow"), "/a,,file=/etc/shadow");
  const argv = buildQemuArgv(launch());
  assert(argv.includes("file=/d,,x/overlay.qcow2,format=qcow2,if=none,id=drive0,discard=unmap"));
  assert(argv.includes("unix:/d,,x/qmp.sock,server=on,wait=off"));
});

Deno.test("TCG gets no -cpu host; KVM does", () => {
  assert(!buildQemuArgv(launch()).includes("-cpu"));
  const kvm = buildQemuArgv(launch({ accel: "kvm" }));
  assertEquals(kvm[kvm.indexOf("-cpu") + 1], "host");
});

Deno.test("the SSH forward binds 127.0.0.1 and the seed is a virtio-scsi CD-ROM", () => {
  const argv = buildQemuArgv(launch());
  assert(argv.includes("user,id=net0,hostfwd=tcp:127.0.0.1:41234-:22"));
  assert(argv.includes("scsi-cd,drive=cd0,bus=scsi0.0"));
  assert(!argv.some((a) => a.includes("if=ide")));
});

Deno.test("VNC only when asked, on loopback with an automatic display", () => {
  assert(!buildQemuArgv(launch()).includes("-vnc"));
  const argv = buildQemuArgv(launch({ vnc: true }));
  assertEquals(argv[argv.indexOf("-vnc") + 1], "127.0.0.1:0,to=99");
});

const TAP_TEST =
  "tap networking attaches the VM's tap to the bridge and IP discovery times out cleanly";
/** Opt-in: the tap test needs root, a bridge and bridge.conf (only ever in its own namespaces). */
const TAP_OPT_IN = Deno.env.get("VMCTL_TEST_BRIDGE") === "1";
/** Set inside the private network and mount namespaces the opt-in test re-runs itself in. */
const IN_NAMESPACE = Deno.env.get("VMCTL_TEST_BRIDGE_NETNS") === "1";

Deno.test({ name: TAP_TEST, ignore: !TAP_OPT_IN, fn: IN_NAMESPACE ? tapTest : tapTestInNamespace });

/**
 * Re-run the tap test in a new network namespace (the bridge exists only
 * there) and mount namespace where /etc is an overlay (bridge.conf is written
 * to a temp dir): the host's links and /etc are never touched.
 */
async function tapTestInNamespace(): Promise<void> {
  const scratch = await Deno.makeTempDir({ prefix: "vmctl-netns-" });
  try {
    await Deno.mkdir(join(scratch, "upper"));
    await Deno.mkdir(join(scratch, "work"));
    const script =
      `mount -t overlay overlay -o lowerdir=/etc,upperdir="$1"/upper,workdir="$1"/work /etc &&
      ip link set lo up && exec "$2" test --allow-all --filter "$3" "$4"`;
    const out = await new Deno.Command("unshare", {
      args: [
        "--net",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        scratch,
        Deno.execPath(),
        TAP_TEST,
        new URL(import.meta.url).pathname,
      ],
      env: { VMCTL_TEST_BRIDGE_NETNS: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assertEquals(out.code, 0, dec.decode(out.stdout) + dec.decode(out.stderr));
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

async function tapTest(): Promise<void> {
  const bridge = "vmctltest0";
  const f = await qemuFixture();
  let pid: number | null | undefined;
  await execCommand(["ip", "link", "add", bridge, "type", "bridge"]);
  try {
    await Deno.mkdir("/etc/qemu", { recursive: true });
    await Deno.writeTextFile("/etc/qemu/bridge.conf", `allow ${bridge}\n`);
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img, { network: { type: "tap", bridge } });
    let rec = await qemuBackend.prepare(spec, base, f.ctx);
    rec = await qemuBackend.start(rec, f.ctx);
    pid = rec.pid;
    const ports = (await execCommand(["ip", "-o", "link", "show", "master", bridge])).stdout;
    assert(/tap\d+/.test(ports), `no tap on ${bridge}: ${ports}`);
    const e = await assertRejects(() => qemuBackend.guestIp(rec, f.ctx, 1_000), Diagnostic);
    assertEquals(e.code, "vmctl::qemu::ip_not_found");
    assert(e.message.includes(rec.mac_addr!));
    await qemuBackend.destroy(rec, f.ctx);
  } finally {
    killIfAlive(pid);
    await f.cleanup();
  }
}

Deno.test("tap networking on a bridge not allowed in bridge.conf is refused at prepare", async () => {
  const f = await qemuFixture();
  try {
    const img = await blankImage(f.root);
    const { spec, base } = await newVm(f, "vm1", img, {
      network: { type: "tap", bridge: "notallowed0" },
    });
    const e = await assertRejects(() => qemuBackend.prepare(spec, base, f.ctx), Diagnostic);
    assertEquals(e.code, "vmctl::qemu::bridge_not_allowed");
    assertEquals([...Deno.readDirSync(base.work_dir)].length, 0);
  } finally {
    await f.cleanup();
  }
});
