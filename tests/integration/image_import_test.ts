/**
 * Air-gapped installs through the real CLI: `vmctl image import` of files
 * compressed by the real zstd, gzip and xz puts them in the cache as if they
 * had been downloaded, and offline mode (VMCTL_OFFLINE=1, --offline) uses the
 * cache only: an image that would have to be downloaded is a diagnostic, and
 * a local HTTP server that counts requests sees none.
 */
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { withTempDir } from "../helpers/temp_dir.ts";
import { spawnVmctl, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";
import { sha256, startServer } from "./image_helpers.ts";
import { alive } from "./qemu_helpers.ts";

const OFFLINE = { VMCTL_OFFLINE: "1" };
const QEMU = { VMCTL_BACKEND: "qemu", VMCTL_ACCEL: "tcg" };

/** A real qcow2 (qemu-img) named `name` in `dir`. */
async function qcow2(dir: string, name = "disk.qcow2"): Promise<string> {
  const p = join(dir, name);
  const out = await new Deno.Command("qemu-img", {
    args: ["create", "-q", "-f", "qcow2", p, "64M"],
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return p;
}

/** Compress `file` with the real tool, keeping it; returns the compressed file's path. */
async function compress(file: string, tool: "zstd" | "gzip" | "xz"): Promise<string> {
  const suffix = { zstd: ".zst", gzip: ".gz", xz: ".xz" }[tool];
  const args = tool === "zstd" ? ["-q", "-k", "-f", file] : ["-k", "-f", file];
  const out = await new Deno.Command(tool, { args }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  return file + suffix;
}

interface Entry {
  name: string;
  url: string;
  sha256: string;
  size: number;
  compression: string;
}

async function cacheIndex(home: string): Promise<Entry[]> {
  try {
    return JSON.parse(await Deno.readTextFile(join(home, "vmctl", "images", "index.json"))).images;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}

/** The files in the cache other than locks and the index, sorted. */
async function cacheFiles(home: string): Promise<string[]> {
  const left: string[] = [];
  const walk = async (dir: string) => {
    const entries = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else if (!e.name.endsWith(".lock") && e.name !== "index.json") left.push(p);
    }
  };
  await walk(join(home, "vmctl", "images"));
  return left.sort();
}

/** What a failed import left in the cache besides lock files and an index without entries. */
async function cacheLeftovers(home: string): Promise<string[]> {
  const left = await cacheFiles(home);
  if ((await cacheIndex(home)).length) left.push("index.json entries");
  return left;
}

for (const tool of [null, "zstd", "gzip", "xz"] as const) {
  Deno.test(`image import of a ${tool ?? "plain"} qcow2 caches the image under --url`, async () => {
    await withTempDir(async (home) => {
      const image = await qcow2(home);
      const file = tool ? await compress(image, tool) : image;
      const url = `https://images.example/os/${file.split("/").pop()}`;
      const out = await vmctlOk(home, ["image", "import", file, "--url", url]);
      assertStringIncludes(out, "Image imported at:");
      const [entry] = await cacheIndex(home);
      assertEquals(entry.url, url);
      assertEquals(entry.name, "disk.qcow2");
      assertEquals(entry.compression, tool ?? "none");
      assertEquals(entry.sha256, await sha256(await Deno.readFile(file)), "the file as given");
      const stored = join(home, "vmctl", "images", "store", `${entry.sha256}.img`);
      const link = join(home, "vmctl", "images", "disk.qcow2");
      assertEquals(await Deno.readFile(stored), await Deno.readFile(image));
      assertEquals(await Deno.realPath(link), stored);
      assertEquals((await Deno.stat(stored)).mode! & 0o777, 0o600);
      assertEquals(await cacheFiles(home), [link, stored], "no part files are left");
    });
  });
}

Deno.test("image import without --url keys the image by the file's file:// URL and name", async () => {
  await withTempDir(async (home) => {
    const file = await compress(await qcow2(home, "debian-12.qcow2"), "xz");
    await vmctlOk(home, ["image", "import", file]);
    const [entry] = await cacheIndex(home);
    assertEquals(entry.url, `file://${file}`);
    assertEquals(entry.name, "debian-12.qcow2");
  });
});

Deno.test("an imported URL is already cached for `image pull`: no request reaches the server", async () => {
  await withTempDir(async (home) => {
    const srv = startServer();
    try {
      const file = await compress(await qcow2(home), "zstd");
      const url = `${srv.base}/disk.qcow2.zst`;
      await vmctlOk(home, ["image", "import", file, "--url", url]);
      assertStringIncludes(await vmctlOk(home, ["image", "pull", url]), "already cached");
      assertEquals(srv.log.length, 0);
    } finally {
      await srv.close();
    }
  });
});

Deno.test("image import --sha256 checks the compressed bytes; a mismatch caches nothing", async () => {
  await withTempDir(async (home) => {
    const file = await compress(await qcow2(home), "gzip");
    const right = await sha256(await Deno.readFile(file));
    const wrong = right.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    const bad = await vmctl(home, ["image", "import", file, "--sha256", wrong]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "vmctl::image::checksum_mismatch");
    assertStringIncludes(bad.stderr, `got      sha256 ${right}`);
    assertEquals(await cacheLeftovers(home), []);
    await vmctlOk(home, ["image", "import", file, "--sha256", right.toUpperCase()]);
    assertEquals((await cacheIndex(home))[0].sha256, right);
  });
});

Deno.test("image import of a missing file is image::not_found and creates no cache", async () => {
  await withTempDir(async (home) => {
    const r = await vmctl(home, [
      "image",
      "import",
      join(home, "nope.qcow2.zst"),
      "--url",
      "https://x.example/i",
    ]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::image::not_found");
    assertStringIncludes(r.stderr, "nope.qcow2.zst");
    assertEquals(await Deno.stat(join(home, "vmctl")).then(() => true, () => false), false);
  });
});

Deno.test("image import under a name taken by a user's file is name_taken and caches nothing", async () => {
  await withTempDir(async (home) => {
    const file = await qcow2(home);
    const mine = join(home, "vmctl", "images", "disk.qcow2");
    await Deno.mkdir(join(home, "vmctl", "images"), { recursive: true });
    await Deno.writeTextFile(mine, "not a cache name");
    const r = await vmctl(home, ["image", "import", file, "--url", "https://x.example/disk.qcow2"]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::image::name_taken");
    assertEquals(await cacheLeftovers(home), [mine]);
  });
});

Deno.test("image import of a cut zstd file is corrupt_archive and caches nothing", async () => {
  await withTempDir(async (home) => {
    const file = await compress(await qcow2(home), "zstd");
    const bytes = await Deno.readFile(file);
    await Deno.writeFile(file, bytes.subarray(0, bytes.length - 20));
    const r = await vmctl(home, ["image", "import", file]);
    assertEquals(r.code, 1);
    assertStringIncludes(r.stderr, "vmctl::image::corrupt_archive");
    assertStringIncludes(r.stderr, file);
    assertEquals(await cacheLeftovers(home), []);
  });
});

Deno.test("image import --dry-run prints the plan and changes nothing", async () => {
  await withTempDir(async (home) => {
    const file = await compress(await qcow2(home), "xz");
    const out = await vmctlOk(home, [
      "image",
      "import",
      file,
      "--url",
      "https://x.example/d.xz",
      "--dry-run",
    ]);
    assertStringIncludes(out, "decompress the xz image");
    assertStringIncludes(out, "dry run: nothing was changed");
    const json = JSON.parse(
      await vmctlOk(home, ["image", "import", file, "--dry-run", "--json"]),
    );
    assertEquals(json.steps.length, 2);
    assertEquals(await Deno.stat(join(home, "vmctl")).then(() => true, () => false), false);
  });
});

/**
 * SIGINT while the import waits for the index lock (held here, so the signal surely comes before
 * the import ends): the image already moved into the store is taken out again.
 */
Deno.test("an import interrupted by SIGINT is undone: nothing is left in the cache", async () => {
  await withTempDir(async (home) => {
    const file = await compress(await qcow2(home), "zstd");
    const stored = join(
      home,
      "vmctl",
      "images",
      "store",
      `${await sha256(await Deno.readFile(file))}.img`,
    );
    await Deno.mkdir(join(home, "vmctl", "images"), { recursive: true, mode: 0o700 });
    // The cache's lock, held by this (live) test process: the import waits at the index.
    const lock = join(home, "vmctl", "images", "index.lock");
    await Deno.writeTextFile(lock, `${Deno.pid}\n`);
    const child = spawnVmctl(
      home,
      ["image", "import", file, "--url", "https://x.example/d.zst"],
      { VMCTL_LOG: "info" },
    );
    try {
      while (!(await Deno.stat(stored).then(() => true, () => false))) {
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill("SIGINT");
      const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("SIGINT: undoing")) {
        const { value, done } = await stderr.read();
        if (done) break;
        text += value;
      }
      await Deno.remove(lock);
      for (let r = await stderr.read(); !r.done; r = await stderr.read()) text += r.value;
      const { code } = await child.status;
      assertEquals(code, 130, text);
      assertStringIncludes(text, "vmctl::interrupted");
    } finally {
      await Deno.remove(lock).catch(() => {});
      await child.stdout.cancel();
    }
    assertEquals(await cacheLeftovers(home), []);
  });
});

function airVmFile(url: string): string {
  return `vm "air" {\n    image-url "${url}"\n    memory 128\n    network "none"\n}\n`;
}

Deno.test("imported image: up with VMCTL_OFFLINE=1 and no server boots its VM from the cache", async () => {
  await withTempDir(async (home) => {
    const file = await compress(await qcow2(home), "zstd");
    // Port 9 (discard): nothing serves the URL; a download attempt would fail.
    const url = "http://127.0.0.1:9/images/disk.qcow2.zst";
    await vmctlOk(home, ["image", "import", file, "--url", url]);
    await Deno.writeTextFile(join(home, "VMFile.kdl"), airVmFile(url));
    const env = { ...QEMU, ...OFFLINE };
    let pid: number | null = null;
    try {
      await vmctlOk(home, ["up"], { env });
      const st = JSON.parse(await vmctlOk(home, ["status", "air", "--json"], { env }));
      pid = st.pid;
      assertEquals(st.state, "running");
      const [entry] = await cacheIndex(home);
      assertEquals(st.image_path, join(home, "vmctl", "images", "store", `${entry.sha256}.img`));
      await vmctlOk(home, ["down", "--destroy", "--timeout", "1"], { env });
    } finally {
      if (alive(pid)) Deno.kill(pid!, "SIGKILL");
    }
  });
});

const UNCACHED: [string, (url: string, home: string) => Promise<string[]>][] = [
  ["up of a VMFile with image-url", async (url, home) => {
    await Deno.writeTextFile(join(home, "VMFile.kdl"), airVmFile(url));
    return ["up"];
  }],
  ["up --dry-run", async (url, home) => {
    await Deno.writeTextFile(join(home, "VMFile.kdl"), airVmFile(url));
    return ["up", "--dry-run"];
  }],
  ["create --image-url", (url) => Promise.resolve(["create", "--name", "air", "--image-url", url])],
  ["image pull", (url) => Promise.resolve(["image", "pull", url])],
];

for (const [what, args] of UNCACHED) {
  for (const how of ["VMCTL_OFFLINE=1", "--offline"]) {
    Deno.test(`offline (${how}): ${what} of an uncached URL names it and makes no request`, async () => {
      await withTempDir(async (home) => {
        const srv = startServer();
        try {
          const url = `${srv.base}/images/disk.qcow2.zst`;
          srv.files.set("/images/disk.qcow2.zst", { body: new Uint8Array(1024) });
          const argv = await args(url, home);
          const r = how === "--offline"
            ? await vmctl(home, ["--offline", ...argv], { env: QEMU })
            : await vmctl(home, argv, { env: { ...QEMU, ...OFFLINE } });
          assertEquals(r.code, 1, r.stderr);
          assertStringIncludes(r.stderr, "vmctl::image::offline_missing");
          assertStringIncludes(r.stderr, `vmctl image import FILE --url ${url}`);
          assertEquals(srv.log.length, 0, "no request reached the server");
          assertEquals(await vmctl(home, ["list", "--json"]).then((l) => l.stdout.trim()), "[]");
        } finally {
          await srv.close();
        }
      });
    });
  }
}
