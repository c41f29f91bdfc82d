/**
 * zonecfg command files (built with strict quoting so no value can start a
 * new zonecfg command) and parsers for `zonecfg info` and `zoneadm list -p`.
 *
 * zonecfg's lexer separates commands with `;` and newlines, and its double
 * quotes have no escape: a value can never contain `"` or a newline. So
 * values with control characters or `"` are refused, and anything beyond a
 * plain token is double-quoted.
 *
 * @module
 */
import { Diagnostic } from "../diagnostics.ts";

/** Characters zonecfg accepts in an unquoted token (a conservative subset). */
const PLAIN_TOKEN = /^[A-Za-z0-9_.\/:@+-]+$/;

/** Quote one value for a zonecfg command file; throws on values that cannot be quoted. */
export function quoteZonecfgValue(value: string, what = "value"): string {
  // deno-lint-ignore no-control-regex
  if (value.length === 0 || /["\x00-\x1f\x7f]/.test(value)) {
    throw new Diagnostic(
      "zmgr::zonecfg::unsafe_value",
      `${what} ${JSON.stringify(value)} cannot be written to a zonecfg script`,
      {
        hint:
          "zonecfg has no escape for double quotes or line breaks; remove them (and any control characters)",
      },
    );
  }
  return PLAIN_TOKEN.test(value) ? value : `"${value}"`;
}

/** The zone configuration zmgr writes. */
export interface ZonecfgSpec {
  brand: string;
  zonepath: string;
  autoboot: boolean;
  vnic: string;
  /**
   * One `net` per address, all over `vnic`: illumos gives a link every
   * allowed-address of the nets naming it (one address each), so a dual-stack
   * zone is one v4 and one v6 net on the same VNIC.
   */
  nets: ZonecfgSpecNet[];
  /** Links given to the zone without an address (a VM's viona VNIC). */
  bareLinks?: string[];
  /** `device` matches (a VM zone's /dev/vmm*, /dev/viona, its zvol). */
  devices?: string[];
  /** Read-only lofs mounts: host `special` at zone `dir`. */
  lofs?: { dir: string; special: string }[];
  limitpriv?: string;
}

/** One address of the zone and its default router. */
export interface ZonecfgSpecNet {
  /** CIDR form, e.g. 10.0.0.5/24. */
  allowedAddress: string;
  defrouter?: string;
}

/** Build the `zonecfg -z NAME -f FILE` command file for a new exclusive-IP zone. */
export function buildZonecfgScript(s: ZonecfgSpec): string {
  const set = (prop: string, value: string) => `set ${prop}=${quoteZonecfgValue(value, prop)}`;
  const lines = [
    "create -b",
    set("brand", s.brand),
    set("zonepath", s.zonepath),
    set("autoboot", s.autoboot ? "true" : "false"),
    set("ip-type", "exclusive"),
    ...(s.limitpriv ? [set("limitpriv", s.limitpriv)] : []),
    ...s.nets.flatMap((n) => [
      "add net",
      set("physical", s.vnic),
      set("allowed-address", n.allowedAddress),
      ...(n.defrouter ? [set("defrouter", n.defrouter)] : []),
      "end",
    ]),
    ...(s.bareLinks ?? []).flatMap((link) => ["add net", set("physical", link), "end"]),
    ...(s.devices ?? []).flatMap((match) => ["add device", set("match", match), "end"]),
    ...(s.lofs ?? []).flatMap((m) => [
      "add fs",
      set("dir", m.dir),
      set("special", m.special),
      set("type", "lofs"),
      "add options ro",
      "end",
    ]),
    "verify",
    "commit",
  ];
  return lines.join("\n") + "\n";
}

/** One `net` resource of `zonecfg info`. */
export interface ZonecfgNet {
  physical?: string;
  allowedAddress?: string;
  address?: string;
  defrouter?: string;
}

/** What import needs from `zonecfg -z NAME info`. */
export interface ZonecfgInfo {
  zonename?: string;
  zonepath?: string;
  brand?: string;
  autoboot?: boolean;
  ipType?: string;
  nets: ZonecfgNet[];
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/**
 * Parse `zonecfg info`: `key: value` globals, resource headers (`net:`) and
 * TAB-indented properties; `x not specified` means unset; bracketed alias
 * lines (`[max-lwps: 2]`) are ignored.
 */
export function parseZonecfgInfo(text: string): ZonecfgInfo {
  const info: ZonecfgInfo = { nets: [] };
  let resource: string | undefined;
  let net: ZonecfgNet | undefined;
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    const indented = /^[\t ]/.test(raw);
    const line = raw.trim();
    if (!indented) {
      net = undefined;
      const header = line.match(/^([a-z-]+):$/);
      if (header) {
        resource = header[1];
        if (resource === "net") {
          net = {};
          info.nets.push(net);
        }
        continue;
      }
      resource = undefined;
      const kv = line.match(/^([a-z-]+):\s?(.*)$/);
      if (!kv) continue;
      const [, key, value] = kv;
      const v = unquote(value.trim());
      if (key === "zonename") info.zonename = v;
      else if (key === "zonepath") info.zonepath = v;
      else if (key === "brand") info.brand = v;
      else if (key === "autoboot") info.autoboot = v === "true";
      else if (key === "ip-type") info.ipType = v;
      continue;
    }
    if (resource !== "net" || !net) continue;
    const kv = line.match(/^([a-z-]+):\s?(.*)$/);
    if (!kv) continue;
    const v = unquote(kv[2].trim());
    if (kv[1] === "physical") net.physical = v;
    else if (kv[1] === "allowed-address") net.allowedAddress = v;
    else if (kv[1] === "address") net.address = v;
    else if (kv[1] === "defrouter") net.defrouter = v;
  }
  return info;
}

/**
 * Every address a zone's nets carry, as written (with or without a prefix):
 * exclusive-IP nets hold `allowed-address` (a comma-separated list), shared-IP
 * nets `address`. One zone may have several nets.
 */
export function netAddresses(info: ZonecfgInfo): string[] {
  return info.nets.flatMap((n) =>
    [n.allowedAddress, n.address].flatMap((v) => v?.split(",") ?? []).map((a) => a.trim())
      .filter((a) => a !== "")
  );
}

/** One line of `zoneadm list -p`. */
export interface ZoneListEntry {
  id: string;
  name: string;
  state: string;
  zonepath: string;
  uuid: string;
  brand: string;
  ipType: string;
}

/**
 * Parse `zoneadm list -cp` (7 or 8 colon-separated fields; only the zonepath
 * escapes `:` as `\:`). Lines that do not fit are skipped.
 */
export function parseZoneadmList(text: string): ZoneListEntry[] {
  const out: ZoneListEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const fields: string[] = [];
    let cur = "";
    for (let i = 0; i < line.length; i++) {
      if (line[i] === "\\" && line[i + 1] === ":") {
        cur += ":";
        i++;
      } else if (line[i] === ":") {
        fields.push(cur);
        cur = "";
      } else cur += line[i];
    }
    fields.push(cur);
    if (fields.length < 7) continue;
    const [id, name, state, zonepath, uuid, brand, ipType] = fields;
    out.push({ id, name, state, zonepath, uuid, brand, ipType });
  }
  return out;
}
