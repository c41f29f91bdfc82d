/**
 * Registers the zone commands (`vmctl zone ...`, or top level as `zmgr`).
 * Actions import cli/zone/*.ts lazily, so `vmctl list` never loads the KDL
 * registry or the zone backends. Every command takes --root DIR (else
 * $ZMGR_ROOT, else /etc/zmgr); mutating ones take --dry-run, which prints the
 * plan the command would apply.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { collect } from "./repeatable.ts";

const ROOT_HELP = "registry directory (default: $ZMGR_ROOT or /etc/zmgr)";
const DRY_HELP =
  "print the plan (each command with its stdin, file, registry change and undo); change nothing";
const PLAN_JSON_HELP = "machine-readable output (with --dry-run: the plan)";

/** Registers this group's commands on `program` (the `zone` command, or zmgr's top level). */
// deno-lint-ignore no-explicit-any
export function registerZoneCommands(program: Command<any, any, any>): void {
  program
    .command("init")
    .description(
      "write config.kdl, the default templates (ipkg, nlipkg) and optionally a first pool",
    )
    .option("--root <dir>", ROOT_HELP)
    .option("--zonepath-root <dir>", "parent directory of zonepaths", "/zones")
    .option(
      "--create-dataset <dataset>",
      "create this ZFS dataset (e.g. rpool/zones) mounted at the zonepath root, if none is",
    )
    .option("--pool <name>", "also create this pool (needs --network and --gateway)")
    .option("--network <cidr>", "the first pool's network")
    .option("--gateway <ip>", "the first pool's gateway")
    .option("--range <start-end>", "the first pool's allocation range")
    .option("--stub <link>", "the link VNICs of the first pool are created over")
    .option("--dns <ip>", "DNS server for the first pool (repeatable)", collect)
    .option(
      "--ssh-key <pubfile>",
      "authorise this public key for root in new zones (repeatable)",
      collect,
    )
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (opts) => (await import("./zone/registry_cmds.ts")).initCmd(opts));

  program
    .command("create")
    .description("create, install and (if the template says autoboot) boot a zone")
    .argument("<name>", "zone name")
    .option("--root <dir>", ROOT_HELP)
    .option("--template <name>", "template (default: config.kdl default-template)")
    .option(
      "--pool <name>",
      "pool to allocate from (overrides the template's); repeat for one more address (net) per pool, e.g. a v4 and a v6 pool",
      collect,
    )
    .option(
      "--address <ip>",
      "use this address (from the first pool) instead of the lowest free one",
    )
    .option("--vnic <name>", "VNIC name (default from config.kdl vnic-pattern)")
    .option("--no-boot", "do not boot the zone after installing it")
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await import("./zone/zone_cmds.ts")).createCmd(name, opts));

  program
    .command("destroy")
    .description("halt, uninstall and delete a zone, delete its VNIC and free its address")
    .argument("<name>", "zone name")
    .option("--root <dir>", ROOT_HELP)
    .option("--keep-registry", "keep the registry entry (and so the address reservation)")
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await import("./zone/zone_cmds.ts")).destroyCmd(name, opts));

  for (const action of ["boot", "halt", "reboot"] as const) {
    program
      .command(action)
      .description(`${action} a registered zone (zoneadm ${action})`)
      .argument("<name>", "zone name")
      .option("--root <dir>", ROOT_HELP)
      .option("--dry-run", DRY_HELP)
      .option("--json", PLAN_JSON_HELP)
      .action(async (name, opts) =>
        (await import("./zone/zone_cmds.ts")).actionCmd(action, name, opts)
      );
  }

  program
    .command("list")
    .description("list registered zones with their live state")
    .option("--root <dir>", ROOT_HELP)
    .option("--json", "machine-readable output")
    .action(async (opts) => (await import("./zone/zone_cmds.ts")).listCmd(opts));

  program
    .command("show")
    .description("show one registered zone")
    .argument("<name>", "zone name")
    .option("--root <dir>", ROOT_HELP)
    .option("--json", "machine-readable output")
    .action(async (name, opts) => (await import("./zone/zone_cmds.ts")).showCmd(name, opts));

  program
    .command("import")
    .description("register existing zones (not bhyve) matched to templates and pools")
    .option("--root <dir>", ROOT_HELP)
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (opts) => (await import("./zone/zone_cmds.ts")).importCmd(opts));

  registerPoolCommands(program.command("pool").description("manage address pools"));
  registerTemplateCommands(program.command("template").description("manage zone templates"));
  registerPublisherCommands(program.command("publisher").description("manage IPS publishers"));
}

// deno-lint-ignore no-explicit-any
function registerPoolCommands(pool: Command<any, any, any>): void {
  const load = () => import("./zone/registry_cmds.ts");
  pool
    .command("create")
    .description("create an address pool")
    .argument("<name>", "pool name")
    .option("--root <dir>", ROOT_HELP)
    .requiredOption("--network <cidr>", "network, e.g. 10.0.0.0/24 or 2001:db8::/64")
    .requiredOption("--gateway <ip>", "default router (never handed out)")
    .option("--range <start-end>", "hand out only START..END")
    .option("--stub <link>", "link the zones' VNICs are created over")
    .option("--dns <ip>", "DNS server (repeatable)", collect)
    .option("--domain <domain>", "DNS domain")
    .option(
      "--reserve <ip|first-last>",
      "never hand out this address or range (repeatable)",
      collect,
    )
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await load()).poolCreateCmd(name, opts));
  pool
    .command("list")
    .description("list pools with used/free counts")
    .option("--root <dir>", ROOT_HELP)
    .option("--json", "machine-readable output")
    .action(async (opts) => (await load()).poolListCmd(opts));
  pool
    .command("show")
    .description("show a pool: used/free counts, its allocations and ledger problems")
    .argument("<name>", "pool name")
    .option("--root <dir>", ROOT_HELP)
    .option("--live", "also compare every zone's nets on the system (zonecfg info) with the ledger")
    .option("--json", "machine-readable output")
    .action(async (name, opts) => (await load()).poolShowCmd(name, opts));
  pool
    .command("edit")
    .description("change a pool in place (comments in the file are kept)")
    .argument("<name>", "pool name")
    .option("--root <dir>", ROOT_HELP)
    .option("--gateway <ip>", "new gateway")
    .option("--range <start-end>", "new range ('none' removes it)")
    .option("--stub <link>", "new stub link")
    .option("--dns <ip>", "replace the DNS servers (repeatable)", collect)
    .option("--domain <domain>", "new DNS domain")
    .option("--reserve <ip|first-last>", "reserve an address or a range (repeatable)", collect)
    .option("--unreserve <ip|first-last>", "drop a reservation as written (repeatable)", collect)
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await load()).poolEditCmd(name, opts));
  pool
    .command("rm")
    .description("remove a pool (refused while zones or templates use it)")
    .argument("<name>", "pool name")
    .option("--root <dir>", ROOT_HELP)
    .option("--force", "remove even if still used")
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await load()).entityRmCmd("pools", name, opts));
}

// deno-lint-ignore no-explicit-any
function registerTemplateCommands(tpl: Command<any, any, any>): void {
  const load = () => import("./zone/registry_cmds.ts");
  tpl
    .command("list")
    .description("list templates")
    .option("--root <dir>", ROOT_HELP)
    .option("--json", "machine-readable output")
    .action(async (opts) => (await load()).templateListCmd(opts));
  tpl
    .command("show")
    .description("show a template")
    .argument("<name>", "template name")
    .option("--root <dir>", ROOT_HELP)
    .option("--json", "machine-readable output")
    .action(async (name, opts) => (await load()).templateShowCmd(name, opts));
  tpl
    .command("create")
    .description("create a template")
    .argument("<name>", "template name")
    .option("--root <dir>", ROOT_HELP)
    .requiredOption("--brand <brand>", "zone brand (ipkg, nlipkg, lipkg, sparse, ...)")
    .option("--pool <name>", "pool the zones' addresses come from")
    .option("--no-autoboot", "do not boot zones after install")
    .option("--publisher <name>", "IPS publisher (repeatable)", collect)
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await load()).templateCreateCmd(name, opts));
  tpl
    .command("edit")
    .description("change a template in place (comments in the file are kept)")
    .argument("<name>", "template name")
    .option("--root <dir>", ROOT_HELP)
    .option("--brand <brand>", "new brand")
    .option("--pool <name>", "new pool ('none' removes it)")
    .option("--autoboot <bool>", "true or false")
    .option("--publisher <name>", "replace the publishers (repeatable; 'none' clears)", collect)
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await load()).templateEditCmd(name, opts));
  tpl
    .command("rm")
    .description("remove a template (refused while it is the default or used)")
    .argument("<name>", "template name")
    .option("--root <dir>", ROOT_HELP)
    .option("--force", "remove even if still used")
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await load()).entityRmCmd("templates", name, opts));
}

// deno-lint-ignore no-explicit-any
function registerPublisherCommands(pub: Command<any, any, any>): void {
  const load = () => import("./zone/registry_cmds.ts");
  pub
    .command("list")
    .description("list IPS publishers")
    .option("--root <dir>", ROOT_HELP)
    .option("--json", "machine-readable output")
    .action(async (opts) => (await load()).publisherListCmd(opts));
  pub
    .command("add")
    .description("add an IPS publisher")
    .argument("<name>", "publisher name, e.g. openindiana.org")
    .argument("<origin>", "repository URL")
    .option("--root <dir>", ROOT_HELP)
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, origin, opts) => (await load()).publisherAddCmd(name, origin, opts));
  pub
    .command("rm")
    .description("remove a publisher (refused while templates use it)")
    .argument("<name>", "publisher name")
    .option("--root <dir>", ROOT_HELP)
    .option("--force", "remove even if still used")
    .option("--dry-run", DRY_HELP)
    .option("--json", PLAN_JSON_HELP)
    .action(async (name, opts) => (await load()).entityRmCmd("publishers", name, opts));
}
