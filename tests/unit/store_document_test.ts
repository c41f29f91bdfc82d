import process from "node:process";
import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertThrows } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import { type DataPaths, pathsUnder } from "../../lib/paths.ts";
import {
  ensurePrivateDir,
  parseStore,
  readStore,
  requireRecord,
  STORE_VERSION,
  updateStore,
} from "../../lib/store.ts";
import type { VmRecord } from "../../lib/types.ts";

function pathsIn(base: string): DataPaths {
  return pathsUnder(join(base, "vmctl"));
}

async function withTemp(fn: (paths: DataPaths, base: string) => Promise<void>): Promise<void> {
  const base = await Deno.makeTempDir({ prefix: "vmctl-store-" });
  try {
    await fn(pathsIn(base), base);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

function record(name: string, extra: Record<string, unknown> = {}): VmRecord {
  return {
    id: `noop-${name}`,
    name,
    backend: "noop",
    state: "prepared",
    work_dir: `/data/vmctl/vms/${name}`,
    vcpus: 1,
    memory_mb: 1024,
    network: { type: "user" },
    created_at: "2026-01-01T00:00:00Z",
    ...extra,
  };
}

Deno.test("a missing store reads as an empty registry and creates nothing", async () => {
  await withTemp(async (paths, base) => {
    assertEquals(await readStore(paths), { version: STORE_VERSION, vms: {} });
    assertEquals([...Deno.readDirSync(base)], []);
  });
});

Deno.test("unknown fields from a newer version survive a rewrite", async () => {
  await withTemp(async (paths) => {
    await Deno.mkdir(paths.dataDir, { recursive: true });
    const newer = {
      version: 7,
      future_top: { keep: true },
      vms: {
        a: record("a", {
          future_field: [1, 2],
          network: { type: "tap", bridge: "br9", mtu: 9000 },
        }),
      },
    };
    await Deno.writeTextFile(paths.storeFile, JSON.stringify(newer));
    await updateStore(paths, (doc) => {
      doc.vms.b = record("b");
    });
    const raw = JSON.parse(await Deno.readTextFile(paths.storeFile));
    assertEquals(raw.version, 7);
    assertEquals(raw.future_top, { keep: true });
    assertEquals(raw.vms.a.future_field, [1, 2]);
    assertEquals(raw.vms.a.network, { type: "tap", bridge: "br9", mtu: 9000 });
    assert(raw.vms.b);
  });
});

Deno.test("fields of a newer version are kept by the store, not handed to the rest of vmctl", async () => {
  await withTemp(async (paths) => {
    await Deno.mkdir(paths.dataDir, { recursive: true });
    const newer = { version: 1, vms: { a: record("a", { future_field: "x" }) } };
    await Deno.writeTextFile(paths.storeFile, JSON.stringify(newer));
    await updateStore(paths, (doc) => {
      assertEquals(Object.keys(doc.vms.a).includes("future_field"), false);
      doc.vms.a = { ...doc.vms.a, state: "running" };
    });
    const raw = JSON.parse(await Deno.readTextFile(paths.storeFile));
    assertEquals(raw.vms.a.future_field, "x");
    assertEquals(raw.vms.a.state, "running");
  });
});

Deno.test("missing record fields get defaults", () => {
  const paths = pathsIn("/data");
  const doc = parseStore(
    JSON.stringify({ version: 1, vms: { old: { id: "x", backend: "qemu" } } }),
    paths,
  );
  const rec = doc.vms.old;
  assertEquals(rec.name, "old");
  assertEquals(rec.vcpus, 1);
  assertEquals(rec.memory_mb, 1024);
  assertEquals(rec.network, { type: "user" });
  assertEquals(rec.state, "stopped");
  assertEquals(rec.work_dir, "/data/vmctl/vms/old");
});

Deno.test("the upstream (Rust) unversioned name->handle map is read as version 1", () => {
  const legacy = {
    web: {
      id: "qemu-1",
      name: "web",
      backend: "qemu",
      work_dir: "/w/web",
      network: { type: "User" },
      pid: 5,
    },
  };
  const doc = parseStore(JSON.stringify(legacy), pathsIn("/data"));
  assertEquals(doc.version, 1);
  assertEquals(doc.vms.web.network, { type: "user" });
  assertEquals(doc.vms.web.pid, 5);
});

Deno.test("a corrupt store is a diagnostic pointing at the bad line and column", () => {
  const text = '{\n  "version": 1,\n  "vms": { "a": ] }\n}\n';
  const err = assertThrows(() => parseStore(text, pathsIn("/data")), Diagnostic);
  assertEquals(err.code, "vmctl::store::corrupt");
  assertEquals(err.span?.line, 3);
  assertEquals(err.span?.column, 17);
  assert(err.hint);
});

Deno.test("an empty store file (a torn write by another tool) is reported as corrupt", () => {
  const err = assertThrows(() => parseStore("", pathsIn("/data")), Diagnostic);
  assertEquals(err.code, "vmctl::store::corrupt");
});

Deno.test("updateStore writes a 0600 file and leaves neither temp files nor its lock", async () => {
  await withTemp(async (paths) => {
    await updateStore(paths, (doc) => {
      doc.vms.a = record("a");
    });
    assertEquals((await Deno.stat(paths.storeFile)).mode! & 0o777, 0o600);
    assertEquals((await Deno.stat(paths.dataDir)).mode! & 0o777, 0o700);
    const names = [...Deno.readDirSync(paths.dataDir)].map((e) => e.name).sort();
    assertEquals(names, ["vms.json"]);
  });
});

Deno.test("a change that throws writes nothing", async () => {
  await withTemp(async (paths) => {
    await updateStore(paths, (doc) => {
      doc.vms.a = record("a");
    });
    const before = await Deno.readTextFile(paths.storeFile);
    await assertRejects(() =>
      updateStore(paths, (doc) => {
        doc.vms.b = record("b");
        throw new Error("abort");
      })
    );
    assertEquals(await Deno.readTextFile(paths.storeFile), before);
  });
});

Deno.test("private dirs are 0700 whatever the umask", async () => {
  await withTemp(async (_paths, base) => {
    const old = process.umask(0o000);
    try {
      await ensurePrivateDir(join(base, "open"));
      process.umask(0o277); // would leave the owner r-x only
      await ensurePrivateDir(join(base, "strict"));
    } finally {
      process.umask(old);
    }
    assertEquals((await Deno.stat(join(base, "open"))).mode! & 0o777, 0o700);
    assertEquals((await Deno.stat(join(base, "strict"))).mode! & 0o777, 0o700);
  });
});

Deno.test("an unknown VM name gets a did-you-mean hint", () => {
  const doc = { version: 1, vms: { webserver: record("webserver") } };
  const err = assertThrows(() => requireRecord(doc, "webservr"), Diagnostic);
  assertEquals(err.code, "vmctl::vm::not_found");
  assert(err.hint?.includes("webserver"));
});
