import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctlOk } from "../helpers/vmctl_cli.ts";

async function withHome(fn: (home: string, image: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fn(home, await fakeImage(home));
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const LIST_KEYS = ["name", "backend", "state", "vcpus", "memory_mb", "network", "pid", "ssh_port"];
const STATUS_KEYS = [...LIST_KEYS, "id", "work_dir", "overlay_path", "seed_iso_path", "mac", "vnc"];

Deno.test("list --json is an empty array when there are no VMs", async () => {
  await withHome(async (home) => {
    assertEquals(JSON.parse(await vmctlOk(home, ["list", "--json"])), []);
  });
});

Deno.test("list --json objects carry the documented fields, sorted by name", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, [
      "create",
      "--name",
      "b",
      "--image",
      image,
      "--vcpus",
      "2",
      "--memory",
      "2048",
    ]);
    await vmctlOk(home, [
      "create",
      "--name",
      "a",
      "--image",
      image,
      "--network",
      "none",
      "--start",
    ]);
    const list = JSON.parse(await vmctlOk(home, ["list", "--json"]));
    assertEquals(list.map((v: { name: string }) => v.name), ["a", "b"]);
    for (const v of list) for (const k of LIST_KEYS) assertEquals(k in v, true, k);
    assertEquals(list[0].state, "running");
    assertEquals(list[0].network, { type: "none" });
    assertEquals(list[1].vcpus, 2);
    assertEquals(list[1].memory_mb, 2048);
    assertEquals(list[1].backend, "noop");
    assertEquals(list[1].pid, null);
    // The SSH port is chosen at create (user network), none without a network.
    assertEquals(list[0].ssh_port, null);
    assertEquals(typeof list[1].ssh_port, "number");
  });
});

Deno.test("status --json adds ids, paths and addresses", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, [
      "create",
      "--name",
      "s",
      "--image",
      image,
      "--bridge",
      "br7",
      "--disk",
      "9",
    ]);
    const st = JSON.parse(await vmctlOk(home, ["status", "s", "--json"]));
    for (const k of STATUS_KEYS) assertEquals(k in st, true, k);
    assertEquals(st.network, { type: "tap", bridge: "br7" });
    assertEquals(st.disk_gb, 9);
    assertEquals(st.work_dir, `${home}/vmctl/vms/s`);
    assertEquals(st.image_path, image);
    assertEquals(st.ssh_user, "vm");
    assertStringIncludes(st.id, "noop-");
  });
});

Deno.test("list prints the book's columns aligned, with - for empty values", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "longer-name", "--image", image]);
    await vmctlOk(home, ["create", "--name", "a", "--image", image, "--start"]);
    const lines = (await vmctlOk(home, ["list"])).trimEnd().split("\n");
    const port = async (name: string) =>
      String(JSON.parse(await vmctlOk(home, ["status", name, "--json"])).ssh_port);
    assertEquals(lines[0].split(/\s+/), [
      "NAME",
      "BACKEND",
      "STATE",
      "VCPUS",
      "MEM",
      "NETWORK",
      "PID",
      "SSH",
    ]);
    assertEquals(lines[1].split(/\s+/), [
      "a",
      "noop",
      "running",
      "1",
      "1024",
      "user",
      "-",
      await port("a"),
    ]);
    assertEquals(lines[2].split(/\s+/), [
      "longer-name",
      "noop",
      "prepared",
      "1",
      "1024",
      "user",
      "-",
      await port("longer-name"),
    ]);
    const col = (l: string) => l.indexOf("noop");
    assertEquals(col(lines[1]), lines[0].indexOf("BACKEND"));
    assertEquals(col(lines[2]), lines[0].indexOf("BACKEND"));
  });
});

Deno.test("status shows an interrupted create honestly", async () => {
  await withHome(async (home, image) => {
    await vmctlOk(home, ["create", "--name", "i", "--image", image]);
    const storeFile = `${home}/vmctl/vms.json`;
    const doc = JSON.parse(await Deno.readTextFile(storeFile));
    // What a create killed half-way leaves: a reservation held by a dead process.
    doc.vms.i.state = "failed";
    doc.vms.i.state_reason = "creation by vmctl pid 999999 did not finish";
    doc.vms.i.operation = { pid: 999999, action: "create", started_at: "" };
    await Deno.writeTextFile(storeFile, JSON.stringify(doc));
    const st = JSON.parse(await vmctlOk(home, ["status", "i", "--json"]));
    assertEquals(st.state, "failed");
    assertEquals(st.busy, null);
    await vmctlOk(home, ["destroy", "i"]);
  });
});

Deno.test("list takes the fast path but --help still reaches the full command tree", async () => {
  await withHome(async (home) => {
    assertStringIncludes(await vmctlOk(home, ["list"]), "No VMs");
    assertStringIncludes(await vmctlOk(home, ["list", "--help"]), "--json");
  });
});
