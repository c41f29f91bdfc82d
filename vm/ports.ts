/**
 * The host ports a VM holds: its SSH forward port, chosen once (at create, or
 * with `start --new-port`) and kept in the record, and the ports of its
 * forwards. The one rule for choosing an SSH port lives here.
 *
 * @module
 */
import {
  forwardWanted,
  freeLoopbackPort,
  loopbackPortFree,
  requirePortsFree,
} from "../backends/ports.ts";
import { Diagnostic } from "../lib/diagnostics.ts";
import {
  describeForward,
  isLoopback,
  type PortForward,
  sshPortCandidates,
  widenedWarning,
} from "../lib/forwards.ts";
import { log } from "../lib/log.ts";
import { readStore, requireRecord, type StoreDoc, updateStore } from "../lib/store.ts";
import type { VmRecord } from "../lib/types.ts";
import type { VmContext } from "./context.ts";

/** Host ports the VMs other than `name` hold (SSH and forwards, stopped ones included), by holder. */
export function portHolders(doc: StoreDoc, name: string): Map<number, string> {
  const held = new Map<number, string>();
  for (const rec of Object.values(doc.vms)) {
    if (rec.name === name) continue;
    if (rec.ssh_host_port) held.set(rec.ssh_host_port, `VM '${rec.name}''s SSH port`);
    for (const f of rec.forwards ?? []) held.set(f.host_port, `a forward of VM '${rec.name}'`);
  }
  return held;
}

/** The host ports other VMs hold. */
export function reservedPorts(doc: StoreDoc, name: string): Set<number> {
  return new Set(portHolders(doc, name).keys());
}

/**
 * The SSH port for VM `name` of the data dir `dataDir`: the first of its
 * candidates in the book's range (10022-10122) no VM holds and nothing listens
 * on, else any free port the OS offers. `avoid` (its own forwards, the port it
 * had) is never chosen.
 */
export async function chooseSshPort(
  dataDir: string,
  name: string,
  reserved: Set<number>,
  avoid: number[] = [],
): Promise<number> {
  const usable = (p: number) => !reserved.has(p) && !avoid.includes(p);
  for (const p of sshPortCandidates(`${dataDir}\0${name}`)) {
    if (usable(p) && await loopbackPortFree(p)) return p;
  }
  for (let i = 0; i < 20; i++) {
    const p = await freeLoopbackPort();
    if (usable(p)) return p;
  }
  throw new Diagnostic("vmctl::net::no_free_port", `no free host port for VM '${name}''s SSH`, {
    hint: "free a port on 127.0.0.1 (see `ss -ltnp`) and try again",
  });
}

/** The SSH port a new VM's record gets (user networking only), chosen under the store lock. */
export async function sshPortForNew(
  ctx: VmContext,
  doc: StoreDoc,
  rec: VmRecord,
): Promise<number | null> {
  if (rec.network.type !== "user") return null;
  const reserved = reservedPorts(doc, rec.name);
  return await chooseSshPort(ctx.paths.dataDir, rec.name, reserved, ownForwardPorts(rec));
}

/**
 * Give `name` an SSH port and record it: a new one (`fresh`: `start --new-port`,
 * never the one it had), or one for a record that has none (made before ports
 * were kept). Returns the stored record.
 */
export async function assignSshPort(
  ctx: VmContext,
  name: string,
  fresh: boolean,
): Promise<VmRecord> {
  return await updateStore(ctx.paths, async (doc) => {
    const rec = requireRecord(doc, name);
    if (rec.network.type !== "user" || (rec.ssh_host_port && !fresh)) return rec;
    const avoid = [...ownForwardPorts(rec), ...(rec.ssh_host_port ? [rec.ssh_host_port] : [])];
    const port = await chooseSshPort(ctx.paths.dataDir, name, reservedPorts(doc, name), avoid);
    if (fresh) log.info(`VM '${name}': SSH port ${rec.ssh_host_port ?? "none"} -> ${port}`);
    doc.vms[name] = { ...rec, ssh_host_port: port };
    return doc.vms[name];
  });
}

function ownForwardPorts(rec: Pick<VmRecord, "forwards">): number[] {
  return (rec.forwards ?? []).map((f) => f.host_port);
}

/**
 * Before a create: warn about forwards beyond loopback, refuse host ports
 * another VM holds (it would fail when both run) or something listens on.
 */
export async function checkForwards(
  ctx: VmContext,
  name: string,
  forwards: PortForward[],
): Promise<void> {
  const held = portHolders(await readStore(ctx.paths), name);
  for (const f of forwards) {
    const holder = held.get(f.host_port);
    if (holder) {
      throw new Diagnostic(
        "vmctl::net::port_reserved",
        `host port ${f.host_port} (forward ${describeForward(f)}) is ${holder}`,
        { hint: "forward another host port; `vmctl list` shows the SSH ports of the VMs" },
      );
    }
    if (!isLoopback(f.host_ip)) log.warn(widenedWarning(f));
  }
  await requirePortsFree(ctx.runner, forwards.map(forwardWanted));
}
