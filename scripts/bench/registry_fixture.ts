/**
 * A registry of many VMs for the start-up benchmarks (list.ts, startup.ts): `vmctl list` over it
 * measures start-up, the store read and rendering.
 *
 * @module
 */
import { join } from "node:path";
import { updateStore } from "../../lib/store.ts";
import { dataPaths } from "../../lib/paths.ts";

/** Register `count` VMs of `backend` in the registry under `xdgDataHome`. */
export async function registerVms(
  xdgDataHome: string,
  backend: "noop" | "qemu",
  count: number,
): Promise<void> {
  const paths = dataPaths((k) => (k === "XDG_DATA_HOME" ? xdgDataHome : Deno.env.get(k)));
  await updateStore(paths, (doc) => {
    for (let i = 0; i < count; i++) {
      const name = `bench-${String(i).padStart(3, "0")}`;
      doc.vms[name] = {
        id: `${backend}-${i}`,
        name,
        backend,
        state: backend === "noop" && i % 3 === 0 ? "running" : "stopped",
        work_dir: join(paths.vmsDir, name),
        vcpus: 2,
        memory_mb: 2048,
        network: { type: "user" },
        ssh_host_port: 20000 + i,
        created_at: new Date().toISOString(),
      };
    }
  });
}
