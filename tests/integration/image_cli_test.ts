/**
 * `vmctl image ...` through the real CLI (main.ts as a child process), with
 * images served by a local HTTP server and inspected by the real qemu-img.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { tempHome, vmctl } from "../helpers/vmctl_cli.ts";
import { startServer } from "./image_helpers.ts";

async function qcow2Bytes(dir: string): Promise<Uint8Array> {
  const p = join(dir, "src.qcow2");
  await new Deno.Command("qemu-img", { args: ["create", "-q", "-f", "qcow2", p, "1G"] }).output();
  return await Deno.readFile(p);
}

Deno.test("image pull, list --json, inspect by name, rm, prune through the CLI", async () => {
  const home = await tempHome();
  const srv = startServer();
  try {
    srv.files.set("/cloud/debian.qcow2", { body: await qcow2Bytes(home) });
    const pull = await vmctl(home, ["image", "pull", `${srv.base}/cloud/debian.qcow2`]);
    assertEquals(pull.code, 0, pull.stderr);
    assertStringIncludes(pull.stdout, "Image cached at:");
    const again = await vmctl(home, ["image", "pull", `${srv.base}/cloud/debian.qcow2`]);
    assertStringIncludes(again.stdout, "already cached");
    assertEquals(srv.log.length, 1);

    const list = await vmctl(home, ["image", "list", "--json"]);
    const rows = JSON.parse(list.stdout);
    assertEquals(rows.length, 1);
    assertEquals(rows[0].name, "debian.qcow2");
    assert(rows[0].present);

    const inspect = await vmctl(home, ["image", "inspect", "debian.qcow2", "--json"]);
    assertEquals(inspect.code, 0, inspect.stderr);
    const info = JSON.parse(inspect.stdout);
    assertEquals(info.format, "qcow2");
    assertEquals(info.virtual_size, 1024 ** 3);
    assertEquals(info.backing_file, null);

    const rm = await vmctl(home, ["image", "rm", "debian.qcow2"]);
    assertEquals(rm.code, 0, rm.stderr);
    assertStringIncludes((await vmctl(home, ["image", "list"])).stdout, "No cached images.");
    const prune = await vmctl(home, ["image", "prune"]);
    assertEquals(prune.code, 0, prune.stderr);
  } finally {
    await srv.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("image pull of a missing URL exits 1 with the HTTP status", async () => {
  const home = await tempHome();
  const srv = startServer();
  try {
    const r = await vmctl(home, ["image", "pull", `${srv.base}/nope.img`]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::image::http_error");
    assertStringIncludes(r.stderr, "404");
  } finally {
    await srv.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("image inspect of an unknown name says what to do", async () => {
  const home = await tempHome();
  try {
    const r = await vmctl(home, ["image", "inspect", "nothing-here"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::image::not_found");
    assertStringIncludes(r.stderr, "hint");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("two VMs created from one URL share one download, and rm refuses while they use it", async () => {
  const home = await tempHome();
  const srv = startServer();
  const env = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg" };
  try {
    srv.files.set("/shared.qcow2", { body: await qcow2Bytes(home) });
    const url = `${srv.base}/shared.qcow2`;
    for (const name of ["a1", "a2"]) {
      const r = await vmctl(home, ["create", "--name", name, "--image-url", url], { env });
      assertEquals(r.code, 0, r.stderr);
    }
    assertEquals(srv.log.length, 1);
    const bases = [];
    for (const name of ["a1", "a2"]) {
      const st = JSON.parse((await vmctl(home, ["status", name, "--json"], { env })).stdout);
      const info = await new Deno.Command("qemu-img", {
        args: ["info", "--output=json", st.overlay_path],
        stdout: "piped",
      }).output();
      bases.push(JSON.parse(new TextDecoder().decode(info.stdout))["backing-filename"]);
    }
    assertEquals(bases[0], bases[1]);
    assert(bases[0].includes("/images/store/"));
    const rm = await vmctl(home, ["image", "rm", "shared.qcow2"], { env });
    assertEquals(rm.code, 1);
    assertStringIncludes(rm.stderr, "vmctl::image::in_use");
    for (const name of ["a1", "a2"]) {
      assertEquals((await vmctl(home, ["destroy", name], { env })).code, 0);
    }
    assertEquals((await vmctl(home, ["image", "rm", "shared.qcow2"], { env })).code, 0);
  } finally {
    await srv.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("image prune removes unreferenced store files, stale partials and dangling names only", async () => {
  const home = await tempHome();
  const srv = startServer();
  try {
    srv.files.set("/keep.qcow2", { body: await qcow2Bytes(home) });
    assertEquals((await vmctl(home, ["image", "pull", `${srv.base}/keep.qcow2`])).code, 0);
    const images = join(home, "vmctl", "images");
    const stray = join(images, "store", `${"ab".repeat(32)}.img`);
    await Deno.writeTextFile(stray, "orphan");
    const oldPart = join(images, "partial", "old.part");
    const freshPart = join(images, "partial", "fresh.part");
    await Deno.writeTextFile(oldPart, "x");
    await Deno.writeTextFile(freshPart, "x");
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await Deno.utime(oldPart, twoHoursAgo, twoHoursAgo);
    await Deno.symlink("store/missing.img", join(images, "dangling"));

    const dry = await vmctl(home, ["image", "prune", "--dry-run"]);
    assertStringIncludes(dry.stdout, "would remove");
    assert(await exists(stray), "dry run removes nothing");

    const r = await vmctl(home, ["image", "prune"]);
    assertEquals(r.code, 0, r.stderr);
    assert(!(await exists(stray)));
    assert(!(await exists(oldPart)));
    assert(await exists(freshPart), "a recent partial may be a pull in progress");
    assert(!(await Deno.lstat(join(images, "dangling")).then(() => true, () => false)));
    const list = JSON.parse((await vmctl(home, ["image", "list", "--json"])).stdout);
    assert(list[0].present, "the named image is kept");
  } finally {
    await srv.close();
    await Deno.remove(home, { recursive: true });
  }
});

function exists(p: string): Promise<boolean> {
  return Deno.stat(p).then(() => true, () => false);
}
