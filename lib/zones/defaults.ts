/**
 * The registry files `zmgr init` writes, embedded in the program so an
 * offline host needs nothing else. Each is commented for the person who will
 * edit it by hand.
 *
 * @module
 */

/** config.kdl with the given default template and zonepath root. */
export function defaultConfigText(
  zonepathRoot: string,
  defaultTemplate = "ipkg",
  sshKeys: string[] = [],
): string {
  return [
    "// zmgr configuration. Strict KDL v2: unknown nodes are errors. See docs/zones.md.",
    "",
    "// template used by `zmgr create` when --template is not given",
    `default-template ${JSON.stringify(defaultTemplate)}`,
    "// each zone's zonepath is <zonepath-root>/<zone name>",
    `zonepath-root ${JSON.stringify(zonepathRoot)}`,
    "// VNIC name; {name} is the zone name. Made valid for dladm (ends in a digit, <= 30 chars).",
    'vnic-pattern "{name}0"',
    "// public keys written to root's authorized_keys on first boot (repeat the node for more)",
    ...(sshKeys.length
      ? sshKeys.map((k) => `ssh-key ${JSON.stringify(k)}`)
      : ['// ssh-key "ssh-ed25519 AAAA... you@host"']),
    "",
  ].join("\n");
}

/** templates/<brand>.kdl for the two default brands. */
export function defaultTemplateText(
  brand: "ipkg" | "nlipkg",
  pool: string | undefined,
): string {
  const what = brand === "ipkg"
    ? "ipkg zone (linked image, follows the global zone's packages)"
    : "non-linked ipkg zone (nlipkg): its own package image";
  return [
    `// ${what}`,
    `brand ${JSON.stringify(brand)}`,
    "autoboot #true",
    "// zmgr manages exclusive-IP zones: each gets its own VNIC over the pool's stub link",
    'ip-type "exclusive"',
    "// pool the address comes from (`zmgr create --pool` overrides it)",
    pool ? `pool ${JSON.stringify(pool)}` : '// pool "default"',
    "// IPS publishers: none given, so the zone gets the global zone's own publishers",
    "// (mirrors and extra repositories included). To name them, add publishers/<name>.kdl",
    "// with `zmgr publisher add` and list them here, first = preferred:",
    '// publisher "openindiana.org"',
    "",
  ].join("\n");
}
