/**
 * The fake illumos host's ZFS volumes and VM-zone start method, which the Propolis
 * backend's tests stand on (fixtures/illumos/README.md).
 */
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { createFakeIllumos, type FakeIllumos } from "../../fixtures/illumos/mod.ts";

const IMAGE = "rpool/vmctl/images/img";
const VM_DISK = "rpool/vmctl/vms/web";

async function ok(fake: FakeIllumos, tool: string, args: string[]): Promise<string> {
  const r = await fake.run(tool, args);
  assertEquals(r.code, 0, `${tool} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Write `text` at offset 0 of a file without truncating it. */
async function writeAt(path: string, text: string): Promise<void> {
  const f = await Deno.open(path, { write: true });
  try {
    await f.write(new TextEncoder().encode(text));
  } finally {
    f.close();
  }
}

async function head(path: string, n: number): Promise<string> {
  const f = await Deno.open(path);
  try {
    const buf = new Uint8Array(n);
    const got = await f.read(buf);
    return new TextDecoder().decode(buf.subarray(0, got ?? 0));
  } finally {
    f.close();
  }
}

/** An image volume holding "IMAGE" with a @base snapshot, as the backend imports one. */
async function imageWithBase(fake: FakeIllumos): Promise<void> {
  await ok(fake, "zfs", ["create", "-p", "-V", "1M", IMAGE]);
  await writeAt(fake.volumeFile(IMAGE), "IMAGE");
  await ok(fake, "zfs", ["snapshot", `${IMAGE}@base`]);
}

Deno.test("a volume clone starts from its snapshot's frozen data and grows with volsize", async () => {
  const fake = await createFakeIllumos();
  try {
    await imageWithBase(fake);
    await writeAt(fake.volumeFile(IMAGE), "LATER");
    await ok(fake, "zfs", ["create", "-p", "rpool/vmctl/vms"]);
    await ok(fake, "zfs", ["clone", `${IMAGE}@base`, VM_DISK]);
    assertEquals(await head(fake.volumeFile(VM_DISK), 5), "IMAGE");
    await ok(fake, "zfs", ["set", "volsize=2G", VM_DISK]);
    assertEquals((await Deno.stat(fake.volumeFile(VM_DISK))).size, 2 * 1024 ** 3);
    assertEquals(await head(fake.volumeFile(VM_DISK), 5), "IMAGE");
    assertEquals(
      await ok(fake, "zfs", ["get", "-H", "-p", "-o", "value", "volsize,origin,type", VM_DISK]),
      `${2 * 1024 ** 3}\n${IMAGE}@base\nvolume\n`,
    );
    assertEquals(
      await ok(fake, "zfs", ["list", "-H", "-o", "name,volsize", "-t", "volume"]),
      `${IMAGE}\t1M\n${VM_DISK}\t2G\n`,
    );
  } finally {
    await fake.cleanup();
  }
});

Deno.test("a volume size that is not a multiple of the block size is refused", async () => {
  const fake = await createFakeIllumos();
  try {
    const before = await fake.snapshot();
    const r = await fake.run("zfs", ["create", "-V", "1000", "rpool/v"]);
    assertEquals([r.code, r.stderr], [
      1,
      "cannot create 'rpool/v': volume size must be a multiple of volume block size\n",
    ]);
    assertEquals(await fake.snapshot(), before);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("a snapshot with clones is destroyed only with -R, which takes the clones", async () => {
  const fake = await createFakeIllumos();
  try {
    await imageWithBase(fake);
    await ok(fake, "zfs", ["clone", "-p", `${IMAGE}@base`, VM_DISK]);
    const refused = await fake.run("zfs", ["destroy", `${IMAGE}@base`]);
    assertEquals([refused.code, refused.stderr], [
      1,
      `cannot destroy '${IMAGE}@base': snapshot has dependent clones\n` +
      `use '-R' to destroy the following datasets:\n${VM_DISK}\n`,
    ]);
    const recursive = await fake.run("zfs", ["destroy", "-r", IMAGE]);
    assertEquals([recursive.code, recursive.stderr.split("\n")[0]], [
      1,
      `cannot destroy '${IMAGE}': volume has dependent clones`,
    ]);
    await ok(fake, "zfs", ["destroy", "-R", IMAGE]);
    assertEquals(
      await ok(fake, "zfs", ["list", "-H", "-o", "name", "-t", "all"]),
      [
        "rpool",
        "rpool/vmctl",
        "rpool/vmctl/images",
        "rpool/vmctl/vms",
        "rpool/zones",
      ].join("\n") + "\n",
    );
    for (const ds of [IMAGE, VM_DISK]) {
      assert(!await exists(fake.volumeFile(ds)), `${ds}'s device is gone`);
    }
    assertEquals([...Deno.readDirSync(`${fake.stateDir}/zvol-snapshots`)], []);
  } finally {
    await fake.cleanup();
  }
});

Deno.test("clone, snapshot and set faults print zfs's error and change nothing", async () => {
  const fake = await createFakeIllumos();
  try {
    await imageWithBase(fake);
    const cases: [string, string[], string][] = [
      ["clone", ["clone", "-p", `${IMAGE}@base`, VM_DISK], `cannot create '${VM_DISK}'`],
      ["snapshot", ["snapshot", `${IMAGE}@two`], `cannot create snapshot '${IMAGE}@two'`],
      ["set", ["set", "volsize=2M", IMAGE], `cannot set property for '${IMAGE}'`],
    ];
    for (const [fault, args, text] of cases) {
      const before = await fake.snapshot();
      const r = await fake.run("zfs", args, { env: { FAKE_ILLUMOS_FAIL: `zfs:${fault}` } });
      assertEquals([r.code, r.stderr], [1, `${text}: out of space\n`]);
      assertEquals(await fake.snapshot(), before, `zfs:${fault} changed nothing`);
    }
  } finally {
    await fake.cleanup();
  }
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * A VM zone as the contract describes it: the disk volume as a device, a lofs fs
 * at /opt/vmctl/propolis whose special is `serverDir`, and the start-method
 * manifest running `/opt/vmctl/propolis/<program> /var/vmctl/seed.iso 127.0.0.1:9`.
 */
async function vmZone(fake: FakeIllumos, serverDir: string, program: string): Promise<void> {
  await ok(fake, "zfs", ["create", "-p", "-V", "1M", VM_DISK]);
  await ok(fake, "zonecfg", [
    "-z",
    "vmctl-web",
    `create -b; set zonepath=/zones/vmctl-web; set ip-type=exclusive; ` +
    `add device; set match=/dev/vmmctl; end; add device; set match=/dev/vmm/*; end; ` +
    `add device; set match=/dev/zvol/rdsk/${VM_DISK}; end; ` +
    `add fs; set dir=/opt/vmctl/propolis; set special=${serverDir}; set type=lofs; ` +
    `add options ro; end`,
  ]);
  await ok(fake, "zoneadm", ["-z", "vmctl-web", "install"]);
  const root = `${fake.fsRoot}/zones/vmctl-web/root`;
  await Deno.mkdir(`${root}/var/vmctl`, { recursive: true });
  await Deno.writeTextFile(`${root}/var/vmctl/seed.iso`, "seed");
  await Deno.mkdir(`${root}/var/svc/manifest/site`, { recursive: true });
  await Deno.writeTextFile(
    `${root}/var/svc/manifest/site/vmctl-propolis.xml`,
    `<service_bundle type='manifest' name='vmctl-propolis'><service name='site/vmctl-propolis'>\n` +
      `<exec_method type='method' name='start' exec='/opt/vmctl/propolis/${program} ` +
      `/var/vmctl/seed.iso 127.0.0.1:9' timeout_seconds='60'/>\n</service></service_bundle>\n`,
  );
}

/** A "server" that appends its argv and environment to `seen`, then runs until SIGTERM, noting it. */
async function recordingServer(dir: string): Promise<void> {
  await Deno.writeTextFile(
    `${dir}/server`,
    `#!/bin/sh\nout=$(dirname "$0")/seen\n` +
      `trap 'echo stopped >> "$out"; exit 0' TERM\n` +
      `echo "$* $FAKE_PROPOLIS_ROOT $FAKE_PROPOLIS_DEV_ROOT" >> "$out"\n` +
      `echo server up\nwhile :; do sleep 0.1; done\n`,
    { mode: 0o755 },
  );
}

/** The first complete line(s) of a file the start method writes. */
async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const text = await Deno.readTextFile(path).catch(() => "");
    if (text.endsWith("\n")) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} never appeared`);
}

Deno.test("booting a VM zone starts its start method with zone paths mapped; halt ends it", async () => {
  const fake = await createFakeIllumos();
  const serverDir = await Deno.makeTempDir();
  try {
    await recordingServer(serverDir);
    await vmZone(fake, serverDir, "server");
    await ok(fake, "zoneadm", ["-z", "vmctl-web", "boot"]);
    const root = `${fake.fsRoot}/zones/vmctl-web/root`;
    assertEquals(
      await waitForFile(`${serverDir}/seen`),
      `${root}/var/vmctl/seed.iso 127.0.0.1:9 ${root} ${fake.fsRoot}\n`,
    );
    assertEquals((await fake.methodProcesses()).map((p) => [p.zone, p.alive]), [
      ["vmctl-web", true],
    ]);
    await ok(fake, "zoneadm", ["-z", "vmctl-web", "halt"]);
    assertStringIncludes(await Deno.readTextFile(`${serverDir}/seen`), "stopped\n");
    assertEquals(await fake.methodProcesses(), []);
    assertStringIncludes(
      await fake.zoneFile("vmctl-web", "/var/log/vmctl-propolis.log") ?? "",
      "server up\n",
    );
  } finally {
    await fake.cleanup();
    await Deno.remove(serverDir, { recursive: true });
  }
});

Deno.test("reboot ends the start method and starts it again", async () => {
  const fake = await createFakeIllumos();
  const serverDir = await Deno.makeTempDir();
  try {
    await recordingServer(serverDir);
    await vmZone(fake, serverDir, "server");
    await ok(fake, "zoneadm", ["-z", "vmctl-web", "boot"]);
    await waitForFile(`${serverDir}/seen`);
    const [first] = await fake.methodProcesses();
    await ok(fake, "zoneadm", ["-z", "vmctl-web", "reboot"]);
    const [second] = await fake.methodProcesses();
    assertEquals(second.alive, true);
    assert(second.pid !== first.pid, "a new process serves the rebooted zone");
    assertStringIncludes(await Deno.readTextFile(`${serverDir}/seen`), "stopped\n");
  } finally {
    await fake.cleanup();
    await Deno.remove(serverDir, { recursive: true });
  }
});

Deno.test("a start method whose program is missing: the zone boots, the log says it failed", async () => {
  const fake = await createFakeIllumos();
  const serverDir = await Deno.makeTempDir();
  try {
    await vmZone(fake, serverDir, "absent-server");
    await ok(fake, "zoneadm", ["-z", "vmctl-web", "boot"]);
    assertEquals(await ok(fake, "zoneadm", ["list"]), "global\nvmctl-web\n");
    assertEquals(await fake.methodProcesses(), []);
    const log = await fake.zoneFile("vmctl-web", "/var/log/vmctl-propolis.log") ?? "";
    assertStringIncludes(log, `${serverDir}/absent-server: No such file or directory\n`);
    assertStringIncludes(log, `Method "start" failed`);
  } finally {
    await fake.cleanup();
    await Deno.remove(serverDir, { recursive: true });
  }
});

Deno.test("boot refuses a zone whose device does not exist on the host", async () => {
  const fake = await createFakeIllumos();
  const serverDir = await Deno.makeTempDir();
  try {
    await vmZone(fake, serverDir, "server");
    await ok(fake, "zfs", ["destroy", VM_DISK]);
    const r = await fake.run("zoneadm", ["-z", "vmctl-web", "boot"]);
    assertEquals([r.code, r.stderr], [
      1,
      `could not verify device match=/dev/zvol/rdsk/${VM_DISK}: No such file or directory\n` +
      `zoneadm: zone vmctl-web failed to verify\n`,
    ]);
    assertEquals(await ok(fake, "zoneadm", ["list", "-i"]), "global\nvmctl-web\n");
    assertEquals((await fake.state()).zones[0].state, "installed");
  } finally {
    await fake.cleanup();
    await Deno.remove(serverDir, { recursive: true });
  }
});

Deno.test("a volume given to a running zone cannot be destroyed", async () => {
  const fake = await createFakeIllumos();
  const serverDir = await Deno.makeTempDir();
  try {
    await vmZone(fake, serverDir, "absent-server");
    await ok(fake, "zoneadm", ["-z", "vmctl-web", "boot"]);
    const r = await fake.run("zfs", ["destroy", VM_DISK]);
    assertEquals([r.code, r.stderr], [1, `cannot destroy '${VM_DISK}': dataset is busy\n`]);
    assert(await exists(fake.volumeFile(VM_DISK)));
    await ok(fake, "zoneadm", ["-z", "vmctl-web", "halt"]);
    await ok(fake, "zfs", ["destroy", VM_DISK]);
    assert(!await exists(fake.volumeFile(VM_DISK)));
  } finally {
    await fake.cleanup();
    await Deno.remove(serverDir, { recursive: true });
  }
});
