/**
 * The rules of lib/forwards.ts (forward and mount syntax, the SSH port
 * candidates, `ss` output) and what they become: hostfwd values, 9p argv,
 * the seed's mount commands.
 */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../helpers/assert.ts";
import { buildQemuArgv, hostfwd } from "../../backends/qemu/argv.ts";
import { buildUserData } from "../../lib/cloudinit/config.ts";
import {
  blocks,
  guestPathProblem,
  parseForwardSpec,
  parseMountSpec,
  parseSsListeners,
  type PortForward,
  SSH_PORT_RANGE,
  sshPortCandidates,
} from "../../lib/forwards.ts";

const fwd = (over: Partial<PortForward> = {}): PortForward => ({
  proto: "tcp",
  host_ip: "127.0.0.1",
  host_port: 8080,
  guest_port: 80,
  ...over,
});

Deno.test("--forward takes HOST:GUEST, a /udp suffix and an optional IPv4 address", () => {
  assertEquals(parseForwardSpec("8080:80"), fwd());
  assertEquals(
    parseForwardSpec("5353:53/udp"),
    fwd({ proto: "udp", host_port: 5353, guest_port: 53 }),
  );
  assertEquals(parseForwardSpec("0.0.0.0:8080:80"), fwd({ host_ip: "0.0.0.0" }));
});

Deno.test("--forward refuses bad ports, protocols and anything that is not a dotted quad", () => {
  for (
    const bad of [
      "8080",
      "0:80",
      "8080:65536",
      "8080:80/sctp",
      "08080x:80",
      "localhost:8080:80",
      "1.2.3.256:8080:80",
      "127.0.0.1,hostfwd=tcp::2:8080:80",
      "[::1]:8080:80",
    ]
  ) {
    assertEquals(typeof parseForwardSpec(bad), "string", bad);
  }
});

Deno.test("--mount splits at the last colon and reads a trailing :ro", () => {
  assertEquals(parseMountSpec("./a:b:/src:ro"), { host: "./a:b", guest: "/src", readonly: true });
  assertEquals(parseMountSpec("~/d:/data"), { host: "~/d", guest: "/data", readonly: false });
  assertEquals(typeof parseMountSpec("/only"), "string");
  assertEquals(typeof parseMountSpec(":/x"), "string");
});

Deno.test("a guest mount point is absolute, not the root, without .. or whitespace", () => {
  assertEquals(guestPathProblem("/srv/app"), undefined);
  for (const bad of ["src", "/", "//", "/a/../b", "/a b", "/a\tb", "/a\nb"]) {
    assert(guestPathProblem(bad), bad);
  }
});

Deno.test("SSH port candidates cover the book's range once, from a place fixed by the key", () => {
  const c = sshPortCandidates("/data\0dev");
  assertEquals(c.length, SSH_PORT_RANGE.last - SSH_PORT_RANGE.first + 1);
  assertEquals([...c].sort((a, b) => a - b)[0], SSH_PORT_RANGE.first);
  assertEquals(new Set(c).size, c.length);
  assertEquals(sshPortCandidates("/data\0dev"), c);
  const starts = ["/a\0dev", "/b\0dev", "/c\0dev", "/d\0dev"].map((k) => sshPortCandidates(k)[0]);
  assert(new Set(starts).size > 1, "the start depends on the key");
});

Deno.test("ss output gives protocol, address, port and the owner when shown", () => {
  const text = [
    'tcp   LISTEN 0      128        127.0.0.1:8080       0.0.0.0:*    users:(("python3",pid=42,fd=3))',
    "tcp   LISTEN 0      4096          [::]:22             [::]:*",
    "udp   UNCONN 0      0      127.0.0.53%lo:53          0.0.0.0:*",
    "garbage",
  ].join("\n");
  assertEquals(parseSsListeners(text), [
    { proto: "tcp", addr: "127.0.0.1", port: 8080, owner: "python3 (pid 42)" },
    { proto: "tcp", addr: "::", port: 22 },
    { proto: "udp", addr: "127.0.0.53", port: 53 },
  ]);
});

Deno.test("a listener blocks a forward on its protocol and port when the addresses overlap", () => {
  const l = (addr: string, proto: "tcp" | "udp" = "tcp") => ({ proto, addr, port: 8080 });
  assert(blocks(l("127.0.0.1"), fwd()));
  assert(blocks(l("0.0.0.0"), fwd()));
  assert(blocks(l("::"), fwd()));
  assert(blocks(l("127.0.0.2"), fwd({ host_ip: "0.0.0.0" })));
  assert(!blocks(l("127.0.0.2"), fwd()));
  assert(!blocks(l("::1"), fwd({ host_ip: "0.0.0.0" })));
  assert(!blocks(l("127.0.0.1", "udp"), fwd()));
  assert(!blocks({ ...l("127.0.0.1"), port: 8081 }, fwd()));
});

Deno.test("hostfwd refuses a stored forward that could inject an option", () => {
  assertEquals(hostfwd(fwd({ proto: "udp" })), "udp:127.0.0.1:8080-:80");
  assertThrows(() => hostfwd(fwd({ host_ip: "127.0.0.1,smb=/" })));
  assertThrows(() => hostfwd(fwd({ proto: "tcp,x" as "tcp" })));
  assertThrows(() => hostfwd(fwd({ guest_port: 0 })));
});

Deno.test("the netdev carries the SSH forward first, then each forward; mounts become 9p devices", () => {
  const argv = buildQemuArgv({
    name: "v",
    accel: "tcg",
    vcpus: 1,
    memoryMb: 128,
    overlayPath: "/w/o.qcow2",
    qmpSocket: "/w/q",
    consoleSocket: "/w/c",
    consoleLog: "/w/l",
    pidFile: "/w/p",
    network: { type: "user" },
    mac: "52:54:00:00:00:01",
    sshHostPort: 10022,
    forwards: [fwd(), fwd({ proto: "udp", host_port: 5353, guest_port: 53 })],
    mounts: [
      { host_path: "/h/a,b", guest_path: "/a", readonly: false },
      { host_path: "/h/c", guest_path: "/c", readonly: true },
    ],
    vnc: false,
  });
  assert(argv.includes(
    "user,id=net0,hostfwd=tcp:127.0.0.1:10022-:22,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:5353-:53",
  ));
  const at = argv.indexOf("-fsdev");
  assertEquals(argv.slice(at, at + 8), [
    "-fsdev",
    "local,id=fs0,path=/h/a,,b,security_model=none",
    "-device",
    "virtio-9p-pci,fsdev=fs0,mount_tag=vmctl0",
    "-fsdev",
    "local,id=fs1,path=/h/c,security_model=none,readonly=on",
    "-device",
    "virtio-9p-pci,fsdev=fs1,mount_tag=vmctl1",
  ]);
});

Deno.test("user-data without mounts has no bootcmd; with mounts, one mount per tag", () => {
  const base = { user: "vm", authorizedKey: "ssh-ed25519 AAAA k" };
  assertEquals(buildUserData(base).includes("bootcmd"), false);
  const text = buildUserData({ ...base, mounts: [{ guest_path: "/src", readonly: true }] });
  assertStringIncludes(
    text,
    '  - [mount, -t, 9p, -o, "trans=virtio,version=9p2000.L,msize=512000,ro", vmctl0, "/src"]\n',
  );
  assertThrows(() => buildUserData({ ...base, mounts: [{ guest_path: "/a b", readonly: false }] }));
});
