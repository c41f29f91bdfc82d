/**
 * `oci://` images against the fixture registry (fixtures/oci_registry.ts) on
 * 127.0.0.1: token auth, manifests and indexes, the disk layer, digest
 * checks, decompression, the digest-keyed cache, and the registry's refusals.
 * The disk is a real qcow2 made by qemu-img.
 */
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { pullImage } from "../../lib/image/resolve.ts";
import { cacheLayout, readIndex } from "../../lib/image/cache.ts";
import type { DataPaths } from "../../lib/paths.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../helpers/assert.ts";
import { tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";
import { type FixtureRegistry, sha256Digest, startRegistry } from "../../fixtures/oci_registry.ts";
import { tempPaths, zstdCompress } from "./image_helpers.ts";

const QCOW2_LAYER = "application/vnd.cloudnebula.qcow2.layer.v1";

/** A small real qcow2 image. */
async function qcow2(): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "vmctl-oci-" });
  try {
    const file = join(dir, "disk.qcow2");
    const out = await new Deno.Command("qemu-img", {
      args: ["create", "-q", "-f", "qcow2", file, "64M"],
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    return await Deno.readFile(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function withRegistry(
  fn: (reg: FixtureRegistry, paths: DataPaths, disk: Uint8Array) => Promise<void>,
): Promise<void> {
  const reg = startRegistry();
  const { root, paths } = await tempPaths();
  try {
    await fn(reg, paths, await qcow2());
  } finally {
    await reg.close();
    await Deno.remove(root, { recursive: true });
  }
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<Diagnostic> {
  const e = await assertRejects(() => p, Diagnostic);
  assertEquals(e.code, code, e.message);
  return e;
}

async function storeFiles(paths: DataPaths): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(cacheLayout(paths).storeDir))).map((e) => e.name);
}

const blobRequests = (reg: FixtureRegistry) => reg.log.filter((r) => r.path.includes("/blobs/"));

Deno.test("an oci:// pull fetches a token, the manifest and the zstd layer, and caches the disk", async () => {
  await withRegistry(async (reg, paths, disk) => {
    const layer = await zstdCompress(disk);
    reg.pushArtifact("vmctl/debian", "12", [{ bytes: layer, mediaType: `${QCOW2_LAYER}+zstd` }]);
    const r = await pullImage(`oci://${reg.host}/vmctl/debian:12`, paths);
    assertEquals(r.downloaded, true);
    assertEquals(await Deno.readFile(r.path), disk);
    assertEquals(`sha256:${r.entry.sha256}`, sha256Digest(layer));
    assertEquals(r.entry.compression, "zstd");
    assertEquals(r.entry.name, "debian-12");
    const token = reg.log.findIndex((q) => q.path === "/token");
    assert(token > 0, "a token was fetched after the first 401");
    const manifest = reg.log.slice(token).find((q) => q.path.includes("/manifests/"))!;
    assertStringIncludes(manifest.authorization ?? "", "Bearer ");
    for (
      const t of [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
      ]
    ) assertStringIncludes(manifest.accept ?? "", t);
  });
});

Deno.test("a gzip layer is decompressed, a plain one stored as it is", async () => {
  await withRegistry(async (reg, paths, disk) => {
    reg.pushArtifact("a/gz", "1", [{ bytes: gzipSync(disk), mediaType: `${QCOW2_LAYER}+gzip` }]);
    reg.pushArtifact("a/plain", "1", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    const gz = await pullImage(`oci://${reg.host}/a/gz:1`, paths);
    const plain = await pullImage(`oci://${reg.host}/a/plain:1`, paths);
    assertEquals(await Deno.readFile(gz.path), disk);
    assertEquals(await Deno.readFile(plain.path), disk);
    assertEquals([gz.entry.compression, plain.entry.compression], ["gzip", "none"]);
  });
});

Deno.test("pulling the same reference again is a cache hit that asks the registry nothing", async () => {
  await withRegistry(async (reg, paths, disk) => {
    reg.pushArtifact("a/b", "1", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    const url = `oci://${reg.host}/a/b:1`;
    const first = await pullImage(url, paths);
    const before = reg.log.length;
    const again = await pullImage(url, paths);
    assertEquals([again.downloaded, again.path], [false, first.path]);
    assertEquals(reg.log.length, before);
  });
});

Deno.test("another reference to a cached layer records it without downloading the blob", async () => {
  await withRegistry(async (reg, paths, disk) => {
    const m = reg.pushArtifact("a/b", "1", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    const byTag = await pullImage(`oci://${reg.host}/a/b:1`, paths);
    assertEquals(blobRequests(reg).length, 1);
    const byDigest = await pullImage(`oci://${reg.host}/a/b@${m.digest}`, paths, {
      name: "pinned",
    });
    assertEquals([byDigest.downloaded, byDigest.path], [false, byTag.path]);
    assertEquals(blobRequests(reg).length, 1);
    assertEquals((await readIndex(cacheLayout(paths))).images.map((e) => e.name).sort(), [
      "b-1",
      "pinned",
    ]);
  });
});

Deno.test("an index is resolved to its linux/amd64 image", async () => {
  await withRegistry(async (reg, paths, disk) => {
    const arm = reg.pushArtifact("a/multi", "arm", [{
      bytes: new Uint8Array(9),
      mediaType: QCOW2_LAYER,
    }]);
    const amd = reg.pushArtifact("a/multi", "amd", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    reg.pushIndex("a/multi", "1", [
      { ...arm, platform: { architecture: "arm64", os: "linux" } },
      { ...amd, platform: { architecture: "amd64", os: "linux" } },
    ]);
    const r = await pullImage(`oci://${reg.host}/a/multi:1`, paths);
    assertEquals(await Deno.readFile(r.path), disk);
  });
});

Deno.test("of several layers, the one marked as a disk image is pulled", async () => {
  await withRegistry(async (reg, paths, disk) => {
    reg.pushArtifact("a/b", "1", [
      { bytes: new TextEncoder().encode("readme"), mediaType: "text/plain", title: "README" },
      { bytes: disk, mediaType: "application/octet-stream", title: "debian-12.qcow2" },
    ]);
    const r = await pullImage(`oci://${reg.host}/a/b:1`, paths);
    assertEquals(await Deno.readFile(r.path), disk);
  });
});

Deno.test("a blob that does not match its digest is refused and nothing is cached", async () => {
  await withRegistry(async (reg, paths, disk) => {
    reg.pushArtifact("a/b", "1", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    reg.corruptBlobs = true;
    await rejectsWith(
      pullImage(`oci://${reg.host}/a/b:1`, paths),
      "vmctl::image::checksum_mismatch",
    );
    assertEquals(await storeFiles(paths), []);
    assertEquals((await readIndex(cacheLayout(paths))).images, []);
  });
});

Deno.test("a manifest whose bytes do not match the digest asked for is refused", async () => {
  await withRegistry(async (reg, paths, disk) => {
    const m = reg.pushArtifact("a/b", "1", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    reg.alterManifests = true;
    await rejectsWith(
      pullImage(`oci://${reg.host}/a/b@${m.digest}`, paths),
      "vmctl::image::checksum_mismatch",
    );
    assertEquals(blobRequests(reg), []);
  });
});

Deno.test("a tag's manifest that does not match the registry's Docker-Content-Digest is refused", async () => {
  await withRegistry(async (reg, paths, disk) => {
    reg.pushArtifact("a/b", "1", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    reg.alterManifests = true;
    await rejectsWith(
      pullImage(`oci://${reg.host}/a/b:1`, paths),
      "vmctl::image::checksum_mismatch",
    );
    assertEquals(blobRequests(reg), []);
  });
});

Deno.test("an unknown tag is a not-found diagnostic naming the registry's error", async () => {
  await withRegistry(async (reg, paths) => {
    const e = await rejectsWith(
      pullImage(`oci://${reg.host}/a/b:nope`, paths),
      "vmctl::image::oci_not_found",
    );
    assertStringIncludes(e.message, "MANIFEST_UNKNOWN");
  });
});

Deno.test("a refused token is an auth diagnostic", async () => {
  await withRegistry(async (reg, paths, disk) => {
    reg.pushArtifact("a/b", "1", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    reg.refuseTokens = true;
    const e = await rejectsWith(
      pullImage(`oci://${reg.host}/a/b:1`, paths),
      "vmctl::image::oci_auth_failed",
    );
    assertStringIncludes(e.message, "403");
    assertEquals(await storeFiles(paths), []);
  });
});

Deno.test("a container image (tar layer) is refused: it holds a file system, not a disk", async () => {
  await withRegistry(async (reg, paths) => {
    reg.pushArtifact("library/alpine", "3", [{
      bytes: gzipSync(new Uint8Array(1024)),
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    }]);
    await rejectsWith(
      pullImage(`oci://${reg.host}/library/alpine:3`, paths),
      "vmctl::image::oci_bad_manifest",
    );
  });
});

Deno.test("--sha256 on an oci:// pull must name the disk layer", async () => {
  await withRegistry(async (reg, paths, disk) => {
    reg.pushArtifact("a/b", "1", [{ bytes: disk, mediaType: QCOW2_LAYER }]);
    await rejectsWith(
      pullImage(`oci://${reg.host}/a/b:1`, paths, { sha256: "ab".repeat(32) }),
      "vmctl::image::checksum_mismatch",
    );
    const ok = await pullImage(`oci://${reg.host}/a/b:1`, paths, { sha256: sha256Digest(disk) });
    assertEquals(ok.downloaded, true);
  });
});

Deno.test("vmctl image pull oci:// caches the disk; a malformed reference is a diagnostic", async () => {
  const reg = startRegistry();
  const home = await tempHome();
  try {
    reg.pushArtifact("a/b", "1", [{ bytes: await qcow2(), mediaType: QCOW2_LAYER }]);
    const out = await vmctlOk(home, ["image", "pull", `oci://${reg.host}/a/b:1`]);
    assertStringIncludes(out, "Image cached at");
    assertStringIncludes(await vmctlOk(home, ["image", "list"]), `oci://${reg.host}/a/b:1`);
    const bad = await vmctl(home, ["image", "pull", `oci://${reg.host}/A/B:1`]);
    assertEquals(bad.code, 1);
    assertStringIncludes(bad.stderr, "vmctl::image::bad_oci_ref");
  } finally {
    await reg.close();
    await Deno.remove(home, { recursive: true });
  }
});
