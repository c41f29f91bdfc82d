import { assertEquals } from "../helpers/assert.ts";
import { ROOT } from "../helpers/vmctl_cli.ts";
import { staticClosure } from "../../scripts/bench/startup_graph.ts";

const root = `file://${ROOT}/`;

Deno.test("vmctl list evaluates neither commander, the KDL parser nor other commands' code", async () => {
  // What `vmctl list` loads: main.ts's static imports, the list module main.ts runs it with, the
  // noop backend.
  const loaded = await staticClosure(ROOT, [
    `${root}main.ts`,
    `${root}cli/vm/list.ts`,
    `${root}backends/noop.ts`,
  ]);
  const heavy = [...loaded].filter((s) =>
    /commander|@bgotink\/kdl|lib\/vmfile|lib\/cloudinit|backends\/qemu|lib\/zones|lib\/iso9660|cli\/declarative\/|node:/
      .test(s)
  );
  assertEquals(heavy, []);
});
