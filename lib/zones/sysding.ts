/**
 * First-boot configuration for ipkg/nlipkg zones: the `/etc/sysding.conf`
 * fragment that OpenIndiana's sysding service sources (as ksh) on first
 * boot. Every value is validated by the caller and single-quoted here, so no
 * value can start a new shell command.
 *
 * @module
 */

/** Brands whose first boot is configured through sysding. */
export const SYSDING_BRANDS = ["ipkg", "nlipkg"];

/** What goes into sysding.conf. */
export interface SysdingSpec {
  hostname: string;
  /** The zone's datalink (the VNIC, same name inside an exclusive-IP zone). */
  iface: string;
  /** CIDR form, e.g. 10.0.0.5/24. */
  address: string;
  gateway?: string;
  dns: string[];
  domain?: string;
  sshKeys: string[];
}

/** Quote `s` for a POSIX/ksh shell: single quotes, embedded `'` as `'\''`. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The sysding.conf text. */
export function buildSysdingConf(s: SysdingSpec): string {
  const q = shellQuote;
  const lines = [
    `# sysding.conf for zone ${s.hostname}, written by zmgr; sourced once on first boot.`,
    `setup_interface ${q(s.iface)} v${s.address.includes(":") ? "6" : "4"} ${q(s.address)}`,
  ];
  if (s.gateway) lines.push(`setup_route default ${q(s.gateway)}`);
  if (s.dns.length) {
    if (s.domain) {
      lines.push(`setup_ns_dns ${q(s.domain)} ${q(s.domain)} ${q(s.dns.join(" "))}`);
    } else {
      lines.push(`printf 'nameserver %s\\n' ${s.dns.map(q).join(" ")} > /etc/resolv.conf`);
      lines.push("cp /etc/nsswitch.dns /etc/nsswitch.conf");
    }
  }
  lines.push(`printf '%s\\n' ${q(s.hostname)} > /etc/nodename`);
  lines.push(`hostname ${q(s.hostname)}`);
  if (s.sshKeys.length) {
    lines.push("mkdir -p /root/.ssh && chmod 700 /root/.ssh");
    lines.push(
      `printf '%s\\n' ${s.sshKeys.map(q).join(" ")} >> /root/.ssh/authorized_keys`,
    );
    lines.push("chmod 600 /root/.ssh/authorized_keys");
  }
  return lines.join("\n") + "\n";
}
