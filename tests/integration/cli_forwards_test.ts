/**
 * `create --forward/--mount`, the SSH port chosen once and kept, and
 * `start --new-port`, through the CLI on the noop backend (the real guest is
 * tests/e2e/forwards_mounts_test.ts).
 */
import { join } from "node:path";
import { freeLoopbackPort } from "../../backends/ports.ts";
import { SSH_PORT_RANGE } from "../../lib/forwards.ts";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { readFiles } from "../helpers/iso_read.ts";
import { fakeImage, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fakeImage(home);
    await Deno.mkdir(join(home, "src"));
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const create = (home: string, name: string, args: string[] = []) =>
  vmctl(home, ["create", "--name", name, "--image", "disk.qcow2", ...args]);

async function status(home: string, name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await vmctlOk(home, ["status", name, "--json"]));
}

const BAD: [string, string[], string][] = [
  ["a forward without a guest port", ["--forward", "8080"], "vmctl::create::invalid_forward"],
  ["host port 0", ["--forward", "0:80"], "vmctl::create::invalid_forward"],
  ["guest port 65536", ["--forward", "8080:65536"], "vmctl::create::invalid_forward"],
  ["an unknown protocol", ["--forward", "8080:80/sctp"], "vmctl::create::invalid_forward"],
  [
    "a host address with a comma",
    ["--forward", "1.2.3.4,x:8080:80"],
    "vmctl::create::invalid_forward",
  ],
  [
    "one host port forwarded twice",
    ["--forward", "8080:80", "--forward", "8080:81"],
    "vmctl::create::duplicate_forward",
  ],
  [
    "a forward without user networking",
    ["--network", "none", "--forward", "8080:80"],
    "vmctl::create::forward_needs_user_network",
  ],
  ["a mount of a missing directory", ["--mount", "nope:/src"], "vmctl::create::file_not_found"],
  ["a mount of a file", ["--mount", "disk.qcow2:/src"], "vmctl::create::file_not_found"],
  ["a relative guest path", ["--mount", "src:src"], "vmctl::create::invalid_mount"],
  [
    "one guest path mounted twice",
    ["--mount", "src:/src", "--mount", ".:/src/"],
    "vmctl::create::duplicate_mount",
  ],
];

for (const [what, args, code] of BAD) {
  Deno.test(`create refuses ${what} with ${code} and leaves no trace`, async () => {
    await withHome(async (home) => {
      const r = await create(home, "o", args);
      assert(r.code !== 0, r.stderr);
      assertStringIncludes(r.stderr, code);
      assertStringIncludes(r.stderr, "hint:");
      assertEquals(JSON.parse(await vmctlOk(home, ["list", "--json"])), []);
    });
  });
}

Deno.test("create refuses --mount with raw --cloud-init user-data", async () => {
  await withHome(async (home) => {
    await Deno.writeTextFile(join(home, "user-data"), "#cloud-config\n");
    const r = await create(home, "o", ["--mount", "src:/src", "--cloud-init", "user-data"]);
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, "vmctl::create::mount_needs_cloud_init");
  });
});

Deno.test("forwards and mounts are recorded and shown by status and --json", async () => {
  await withHome(async (home) => {
    const [web, dns] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const r = await create(home, "w", [
      "--forward",
      `${web}:80`,
      "--forward",
      `${dns}:53/udp`,
      "--mount",
      "src:/src:ro",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const st = await status(home, "w");
    assertEquals(st.forwards, [
      { proto: "tcp", host_ip: "127.0.0.1", host_port: web, guest_port: 80 },
      { proto: "udp", host_ip: "127.0.0.1", host_port: dns, guest_port: 53 },
    ]);
    assertEquals(st.mounts, [
      { host_path: join(home, "src"), guest_path: "/src", readonly: true },
    ]);
    const text = await vmctlOk(home, ["status", "w"]);
    assertStringIncludes(text, `Forward:    127.0.0.1:${web} -> 80/tcp`);
    assertStringIncludes(text, `Mount:      ${join(home, "src")} -> /src (read-only)`);
  });
});

Deno.test("the seed mounts each shared folder at boot by its 9p tag", async () => {
  await withHome(async (home) => {
    assertEquals((await create(home, "m", ["--mount", "src:/src:ro", "--mount", ".:/up"])).code, 0);
    const iso = await Deno.readFile(join(home, "vmctl", "vms", "m", "seed.iso"));
    const userData = new TextDecoder().decode(readFiles(iso).get("user-data"));
    assertStringIncludes(
      userData,
      'bootcmd:\n  - [modprobe, -a, 9pnet_virtio, 9p]\n  - [mkdir, -p, "/src"]\n' +
        '  - [mount, -t, 9p, -o, "trans=virtio,version=9p2000.L,msize=512000,ro", vmctl0, "/src"]\n' +
        '  - [mkdir, -p, "/up"]\n' +
        '  - [mount, -t, 9p, -o, "trans=virtio,version=9p2000.L,msize=512000", vmctl1, "/up"]\n',
    );
  });
});

Deno.test("a forward on a host port already in use names the process holding it", async () => {
  await withHome(async (home) => {
    const squatter = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const port = (squatter.addr as Deno.NetAddr).port;
      const r = await create(home, "o", ["--forward", `${port}:80`]);
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, "vmctl::net::port_taken");
      assertStringIncludes(r.stderr, `127.0.0.1:${port}/tcp (forward 127.0.0.1:${port} -> 80/tcp)`);
      assertStringIncludes(r.stderr, `(pid ${Deno.pid})`);
      assertEquals(JSON.parse(await vmctlOk(home, ["list", "--json"])), []);
    } finally {
      squatter.close();
    }
  });
});

Deno.test("a forward on another VM's SSH port is refused, even while that VM is stopped", async () => {
  await withHome(async (home) => {
    await create(home, "a");
    const taken = (await status(home, "a")).ssh_port;
    const r = await create(home, "b", ["--forward", `${taken}:80`]);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "vmctl::net::port_reserved");
    assertStringIncludes(
      r.stderr,
      `host port ${taken} (forward 127.0.0.1:${taken} -> 80/tcp) is VM 'a''s SSH port`,
    );
  });
});

Deno.test("a forward beyond loopback is created with a warning", async () => {
  await withHome(async (home) => {
    const port = await freeLoopbackPort();
    const r = await create(home, "o", ["--forward", `0.0.0.0:${port}:80`]);
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, `warn: forward 0.0.0.0:${port} -> 80/tcp listens on 0.0.0.0`);
  });
});

Deno.test("each VM gets its own SSH port in the book's range, kept across stop and start", async () => {
  await withHome(async (home) => {
    await create(home, "a");
    await create(home, "b");
    const [a, b] = [(await status(home, "a")).ssh_port, (await status(home, "b")).ssh_port];
    for (const p of [a, b] as number[]) {
      assert(p >= SSH_PORT_RANGE.first && p <= SSH_PORT_RANGE.last, String(p));
    }
    assert(a !== b);
    await vmctlOk(home, ["start", "a"]);
    await vmctlOk(home, ["stop", "a"]);
    await vmctlOk(home, ["start", "a"]);
    assertEquals((await status(home, "a")).ssh_port, a);
  });
});

Deno.test("start --new-port records a new SSH port", async () => {
  await withHome(async (home) => {
    await create(home, "a");
    const before = (await status(home, "a")).ssh_port;
    const r = await vmctl(home, ["start", "a", "--new-port"]);
    assertEquals(r.code, 0, r.stderr);
    const after = (await status(home, "a")).ssh_port;
    assert(after !== before, `${after}`);
    assertStringIncludes(r.stderr, `VM 'a': SSH port ${before} -> ${after}`);
  });
});

Deno.test("a VM that never ran takes another SSH port at its first start when its own was taken meanwhile", async () => {
  await withHome(async (home) => {
    await create(home, "a");
    const chosen = (await status(home, "a")).ssh_port as number;
    const squatter = Deno.listen({ hostname: "127.0.0.1", port: chosen });
    try {
      const r = await vmctl(home, ["start", "a"]);
      assertEquals(r.code, 0, r.stderr);
      const now = (await status(home, "a")).ssh_port;
      assert(now !== chosen, `${now}`);
      assertStringIncludes(r.stderr, `VM 'a': SSH port ${chosen} -> ${now}`);
    } finally {
      squatter.close();
    }
  });
});
