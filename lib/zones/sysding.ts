/**
 * First-boot configuration for ipkg/nlipkg zones: the `/etc/sysding.conf`
 * fragment that OpenIndiana's sysding service sources (as ksh) on first
 * boot. Every value is validated by the caller and single-quoted here, so no
 * value can start a new shell command.
 *
 * The zone's address and default route are not in it: zmgr's zones are
 * exclusive-IP with `allowed-address` and `defrouter`, which illumos
 * configures from the global zone at boot; in the zone such an interface is
 * `from-gz` and `ipadm create-addr` on it is refused.
 *
 * @module
 */

/** Brands whose first boot is configured through sysding. */
export const SYSDING_BRANDS = ["ipkg", "nlipkg"];

/** What goes into sysding.conf. */
export interface SysdingSpec {
  hostname: string;
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
    "# The address and default route come from zonecfg (allowed-address, defrouter).",
  ];
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
