/**
 * A Propolis host for CLI tests: the fake illumos tools (fixtures/illumos),
 * a zone registry whose VM pool and guest pool lie inside 127.0.0.0/8 (so
 * every zone and guest address is reachable here), config.kdl pointing the
 * VM zones at the fake propolis-server (fixtures/propolis), a small qcow2
 * image, and `vmctl` run as a child process with VMCTL_BACKEND=propolis.
 *
 * Each world takes its own random /16 of 127/8 so test files running side by
 * side never share an address.
 *
 * @module
 */
import { join } from "node:path";
import { createPool, REPO, type ZoneTestEnv, zoneTestEnv } from "./zone_harness.ts";
import { type CliResult, vmctl } from "../helpers/vmctl_cli.ts";

export interface PropolisWorld {
  t: ZoneTestEnv;
  /** XDG_DATA_HOME of the vmctl runs. */
  home: string;
  /** A 64 MiB qcow2 image. */
  image: string;
  /** The first addresses the VM pool and the guest pool hand out. */
  vmNet: string;
  guestNet: string;
  env: Record<string, string>;
  run(
    args: string[],
    extra?: Record<string, string>,
    cwd?: string,
    stdin?: string,
  ): Promise<CliResult>;
  ok(args: string[], extra?: Record<string, string>, cwd?: string): Promise<string>;
  /** Everything a VM left on the host: zones, VNICs, datasets (images aside), entries, files. */
  leftovers(): Promise<string[]>;
  cleanup(): Promise<void>;
}

/** Datasets the host has before any VM, and the image volumes a create keeps on purpose. */
const KEPT_DATASET =
  /^(rpool|rpool\/zones|rpool\/vmctl|rpool\/vmctl\/images|rpool\/vmctl\/vms|rpool\/vmctl\/images\/[0-9a-f]+(@base)?)$/;

export async function propolisWorld(): Promise<PropolisWorld> {
  const t = await zoneTestEnv({ flavor: "omnios", init: false });
  const home = await Deno.makeTempDir({ prefix: "vmctl-propolis-" });
  const octet = 100 + Math.floor(Math.random() * 100);
  const vmNet = `127.${octet}.1`;
  const guestNet = `127.${octet}.2`;
  await t.ok([
    "init",
    "--pool",
    "vms",
    "--network",
    `${vmNet}.0/24`,
    "--gateway",
    `${vmNet}.1`,
    "--stub",
    "igb0",
  ]);
  await createPool(
    t,
    "guests",
    `${guestNet}.0/24`,
    `${guestNet}.1`,
    "--stub",
    "igb0",
    "--dns",
    `${guestNet}.53`,
  );
  const bootrom = join(home, "OVMF_CODE.fd");
  await Deno.writeFile(bootrom, new Uint8Array(4096));
  await Deno.writeTextFile(
    join(t.root, "config.kdl"),
    [
      'vm-pool "vms"',
      `propolis-server "${REPO}/fixtures/propolis/bin/propolis-server"`,
      `propolis-bootrom "${bootrom}"`,
      "",
    ].join("\n"),
    { append: true },
  );
  const image = join(home, "base.qcow2");
  const made = await new Deno.Command("qemu-img", {
    args: ["create", "-q", "-f", "qcow2", image, "64M"],
  }).output();
  if (!made.success) throw new Error("qemu-img create failed");
  const env = {
    ...t.env,
    ZMGR_ROOT: t.root,
    VMCTL_BACKEND: "propolis",
  };
  const run = (args: string[], extra: Record<string, string> = {}, cwd?: string, stdin?: string) =>
    vmctl(home, args, { env: { ...env, ...extra }, cwd, stdin });
  const ok = async (args: string[], extra?: Record<string, string>, cwd?: string) => {
    const r = await run(args, extra, cwd);
    if (r.code !== 0) {
      throw new Error(`vmctl ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    }
    return r.stdout;
  };
  return {
    t,
    home,
    image,
    vmNet,
    guestNet,
    env,
    run,
    ok,
    leftovers: () => leftovers(t, home),
    async cleanup() {
      await t.cleanup();
      await Deno.remove(home, { recursive: true });
    },
  };
}

async function leftovers(t: ZoneTestEnv, home: string): Promise<string[]> {
  const out: string[] = [];
  const lines = async (tool: string, args: string[]) => {
    const r = await t.fake.run(tool, args);
    if (r.code !== 0) throw new Error(`${tool} ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.split("\n").filter((l) => l !== "");
  };
  for (const z of await lines("zoneadm", ["list", "-cp"])) {
    const name = z.split(":")[1];
    if (name !== "global") out.push(`zone ${name}`);
  }
  for (const l of await lines("dladm", ["show-vnic", "-p", "-o", "LINK"])) out.push(`vnic ${l}`);
  for (const ds of await lines("zfs", ["list", "-H", "-o", "name", "-t", "all"])) {
    if (!KEPT_DATASET.test(ds)) out.push(`dataset ${ds}`);
  }
  for await (const e of readDirOrEmpty(join(t.root, "zones"))) out.push(`registry ${e}`);
  for await (const e of readDirOrEmpty(join(home, "vmctl", "vms"))) out.push(`work dir ${e}`);
  try {
    const store = JSON.parse(await Deno.readTextFile(join(home, "vmctl", "vms.json")));
    for (const name of Object.keys(store.vms ?? {})) out.push(`store entry ${name}`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

async function* readDirOrEmpty(dir: string): AsyncGenerator<string> {
  try {
    for await (const e of Deno.readDir(dir)) yield e.name;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** A VMFile with `names`, each from `image`, its guest address from pool `guests`. */
export function vmfileText(image: string, names: string[], extra = ""): string {
  return names.map((n) =>
    `vm "${n}" {\n  image "${image}"\n  vcpus 2\n  memory 512\n  network "vnic" { pool "guests" }\n  cloud-init { }\n${extra}}\n`
  ).join("\n");
}
