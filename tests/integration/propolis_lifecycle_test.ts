/**
 * Propolis VMs end to end through the CLI: the fake illumos host boots each
 * VM's zone, whose SMF manifest starts the fake propolis-server on the zone's
 * own address; the server's "guest" reads the seed vmctl built and serves SSH
 * (a real sshd) on the guest address the pool gave it.
 *
 * @module
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { propolisWorld, vmfileText } from "./propolis_harness.ts";
import { runtimeHasWebSocket } from "../helpers/runtime.ts";

/** The guests' SSH port: any free port works, each guest has its own address. */
function guestPort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

async function zoneStates(w: Awaited<ReturnType<typeof propolisWorld>>): Promise<string[]> {
  const r = await w.t.fake.run("zoneadm", ["list", "-cp"]);
  return r.stdout.split("\n").filter((l) => l && !l.includes(":global:")).map((l) => {
    const f = l.split(":");
    return `${f[1]} ${f[2]}`;
  }).sort();
}

Deno.test("two Propolis VMs come up with their own addresses, are provisioned over SSH, go down and up, and leave nothing when destroyed", async () => {
  const w = await propolisWorld();
  const dir = await Deno.makeTempDir({ prefix: "vmctl-propolis-up-" });
  const port = guestPort();
  const marker = join(dir, "provisioned");
  try {
    await Deno.writeTextFile(
      join(dir, "VMFile.kdl"),
      vmfileText(
        w.image,
        ["web", "db"],
        `  ssh {\n    port ${port}\n  }\n  provision "shell" {\n    inline "echo provisioned >> ${marker}"\n  }\n`,
      ),
    );
    const env = { FAKE_PROPOLIS_GUEST_SSH: String(port) };
    await w.ok(["up"], env, dir);
    assertEquals(await zoneStates(w), ["vmctl-db running", "vmctl-web running"]);
    const provisioned = (await Deno.readTextFile(marker)).trim().split("\n");
    assertEquals(provisioned.length, 2, "each VM's provisioner ran once, over SSH");

    const web = await Deno.readTextFile(join(w.t.root, "zones", "vmctl-web.kdl"));
    const db = await Deno.readTextFile(join(w.t.root, "zones", "vmctl-db.kdl"));
    const guest = (t: string) =>
      t.match(new RegExp(`address "(${w.guestNet.replaceAll(".", "\\.")}\\.\\d+)/24"`))![1];
    assert(guest(web) !== guest(db), "the guests have distinct addresses");

    const status = JSON.parse(await w.ok(["status", "web", "--json"], env, dir));
    assertEquals(status.state, "running");
    assertStringIncludes(
      await w.ok(["ssh", "web", "--", "echo", "hello-from-web"], env, dir),
      "hello-from-web",
    );

    await w.ok(["down"], env, dir);
    assertEquals(await zoneStates(w), ["vmctl-db installed", "vmctl-web installed"]);
    const log = await w.ok(["log", "web", "--console"], env, dir);
    assertStringIncludes(log, "fake propolis guest web: 2 vCPU, 512 MiB");
    assertStringIncludes(log, "power down");
    const plan = await w.ok(["start", "web", "--dry-run"], env, dir);
    assertStringIncludes(plan, `PUT http://${w.vmNet}.`);
    assertStringIncludes(plan, "api-version: 5.0.0");
    assertStringIncludes(plan, '"memory_mb": 512');

    await w.ok(["up"], env, dir);
    assertEquals(await zoneStates(w), ["vmctl-db running", "vmctl-web running"]);
    await w.ok(["down", "--destroy"], env, dir);
    assertEquals(await w.leftovers(), []);
  } finally {
    await w.run(["down", "--destroy"], {}, dir).catch(() => {});
    await w.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a start whose zone does not boot, or whose server refuses the instance, halts the zone again and leaves the VM failed, and a later start works", async () => {
  const w = await propolisWorld();
  try {
    await w.ok([
      "create",
      "--name",
      "web",
      "--image",
      w.image,
      "--network",
      "vnic",
      "--pool",
      "guests",
    ]);
    const boot = await w.run(["start", "web"], { FAKE_ILLUMOS_FAIL: "zoneadm:boot" });
    assertEquals(boot.code, 1);
    assertEquals(await zoneStates(w), ["vmctl-web installed"]);
    const r = await w.run(["start", "web"], { FAKE_PROPOLIS_FAULTS: "ensure:500" });
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::propolis::server_error");
    assertEquals(await zoneStates(w), ["vmctl-web installed"]);
    assertEquals(JSON.parse(await w.ok(["status", "web", "--json"])).state, "failed");

    await w.ok(["start", "web"]);
    assertEquals(await zoneStates(w), ["vmctl-web running"]);
    await w.ok(["destroy", "web"]);
    assertEquals(await w.leftovers(), []);
  } finally {
    await w.run(["destroy", "web"]).catch(() => {});
    await w.cleanup();
  }
});

Deno.test("a Propolis VM whose server dies while running shows as failed with the reason", async () => {
  const w = await propolisWorld();
  try {
    await w.ok([
      "create",
      "--name",
      "web",
      "--image",
      w.image,
      "--network",
      "vnic",
      "--pool",
      "guests",
    ]);
    await w.ok(["start", "web"], { FAKE_PROPOLIS_FAULTS: "die-after-run" });
    let status: { state: string; state_reason?: string } = { state: "running" };
    for (let i = 0; i < 50 && status.state === "running"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = JSON.parse(await w.ok(["status", "web", "--json"]));
    }
    assertEquals(status.state, "failed");
    await w.ok(["destroy", "web"]);
    assertEquals(await w.leftovers(), []);
  } finally {
    await w.run(["destroy", "web"]).catch(() => {});
    await w.cleanup();
  }
});

Deno.test("on a running Propolis VM the console attaches and Ctrl+] detaches (or says the runtime has no WebSocket), and suspend is refused", async () => {
  const w = await propolisWorld();
  try {
    await w.ok(["create", "--name", "web", "--image", w.image, "--network", "vnic", "--start"]);
    const con = await w.run(["console", "web"], {}, undefined, "\x1d");
    if (await runtimeHasWebSocket()) {
      assertEquals(con.code, 0, con.stderr);
      assertStringIncludes(con.stderr, "Detached");
    } else {
      assertEquals(con.code, 1);
      assertStringIncludes(con.stderr, "vmctl::console::websocket_unavailable");
    }
    const r = await w.run(["suspend", "web"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::propolis::unsupported");
    assertEquals(await zoneStates(w), ["vmctl-web running"]);
    await w.ok(["destroy", "web"]);
  } finally {
    await w.run(["destroy", "web"]).catch(() => {});
    await w.cleanup();
  }
});
