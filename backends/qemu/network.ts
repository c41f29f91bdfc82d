/**
 * Guest address discovery for bridged (tap) VMs: match the VM's MAC in the
 * kernel neighbour table, then in dnsmasq / libvirt lease files, polling until
 * a deadline. Never "the first neighbour": only the VM's own MAC counts.
 *
 * @module
 */
import { Diagnostic } from "../../lib/diagnostics.ts";
import type { Runner } from "../exec.ts";
import { sleep } from "../../lib/async.ts";
import { host } from "../../host/mod.ts";
import type { DirEntry } from "../../host/mod.ts";

/** Lease files we read (dnsmasq, Debian's dnsmasq package, libvirt's JSON status files). */
export const LEASE_FILES = [
  "/var/lib/misc/dnsmasq.leases",
  "/var/lib/dnsmasq/dnsmasq.leases",
];
export const LIBVIRT_LEASE_DIR = "/var/lib/libvirt/dnsmasq";

/** The IPv4 address `ip neigh show` lists for `mac` (REACHABLE/STALE/DELAY), or null. */
export function ipFromNeigh(output: string, mac: string): string | null {
  const want = mac.toLowerCase();
  for (const line of output.split("\n")) {
    const f = line.trim().split(/\s+/);
    const ll = f.indexOf("lladdr");
    if (ll < 0 || f[ll + 1]?.toLowerCase() !== want) continue;
    if (/FAILED|INCOMPLETE/.test(line)) continue;
    if (/^\d+\.\d+\.\d+\.\d+$/.test(f[0])) return f[0];
  }
  return null;
}

/** The address a dnsmasq lease file (`expiry MAC IP host clientid`) gives `mac`, newest last. */
export function ipFromDnsmasqLeases(text: string, mac: string): string | null {
  let found: string | null = null;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 3 && f[1].toLowerCase() === mac.toLowerCase()) found = f[2];
  }
  return found;
}

/** The address a libvirt `<net>.status` JSON file gives `mac`. */
export function ipFromLibvirtStatus(text: string, mac: string): string | null {
  try {
    const leases = JSON.parse(text) as { "mac-address"?: string; "ip-address"?: string }[];
    if (!Array.isArray(leases)) return null;
    const hit = leases.filter((l) => l["mac-address"]?.toLowerCase() === mac.toLowerCase()).pop();
    return hit?.["ip-address"] ?? null;
  } catch {
    return null;
  }
}

async function fromLeaseFiles(mac: string): Promise<string | null> {
  for (const f of LEASE_FILES) {
    const text = await host.readTextFile(f).catch(() => "");
    const ip = ipFromDnsmasqLeases(text, mac);
    if (ip) return ip;
  }
  let entries: DirEntry[] = [];
  try {
    entries = [...host.readDirSync(LIBVIRT_LEASE_DIR)];
  } catch { /* no libvirt */ }
  for (const e of entries) {
    if (!e.name.endsWith(".status")) continue;
    const text = await host.readTextFile(`${LIBVIRT_LEASE_DIR}/${e.name}`).catch(() => "");
    const ip = ipFromLibvirtStatus(text, mac);
    if (ip) return ip;
  }
  return null;
}

/** Poll neighbours then leases for `mac` on `bridge` until `timeoutMs`. */
export async function discoverTapIp(
  runner: Runner,
  mac: string,
  bridge: string,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await runner.run(["ip", "-4", "neigh", "show", "dev", bridge], {
      check: false,
      timeoutMs: 5_000,
    }).catch(() => null);
    const ip = (res && res.code === 0 ? ipFromNeigh(res.stdout, mac) : null) ??
      await fromLeaseFiles(mac);
    if (ip) return ip;
    if (Date.now() >= deadline) break;
    await sleep(Math.min(1_000, Math.max(0, deadline - Date.now())));
  }
  throw new Diagnostic(
    "vmctl::qemu::ip_not_found",
    `no address for MAC ${mac} on bridge ${bridge} after ${Math.round(timeoutMs / 1000)} s`,
    {
      hint:
        "the guest may still be booting, or the bridge has no DHCP server whose leases we can read (dnsmasq/libvirt)",
    },
  );
}
