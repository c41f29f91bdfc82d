// Key, user and host-key policy resolution, in the book's order.
import { join } from "node:path";
import { assertEquals, assertThrows } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import {
  GENERATED_KEY,
  hostKeyPolicy,
  resolveSshKey,
  resolveSshUser,
} from "../../backends/ssh/resolve.ts";
import { sshArgv, type SshTarget } from "../../backends/ssh/args.ts";

async function withDirs(fn: (work: string, home: string) => Promise<void> | void) {
  const root = await Deno.makeTempDir({ prefix: "vmctl-resolve-" });
  const work = join(root, "work");
  const home = join(root, "home");
  await Deno.mkdir(join(home, ".ssh"), { recursive: true });
  await Deno.mkdir(work);
  try {
    await fn(work, home);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}
const touch = (p: string) => Deno.writeTextFileSync(p, "key\n", { mode: 0o600 });

Deno.test("ssh user: --user wins over the VMFile, the record and the default", () => {
  assertEquals(resolveSshUser({ ssh_user: "rec" }, { cliUser: "cli", vmfileUser: "file" }), "cli");
  assertEquals(resolveSshUser({ ssh_user: "rec" }, { vmfileUser: "file" }), "file");
  assertEquals(resolveSshUser({ ssh_user: "rec" }), "rec");
  assertEquals(resolveSshUser({ ssh_user: null }), "vm");
});

Deno.test("ssh user: a name that could become an ssh option is refused", () => {
  for (const bad of ["-oProxyCommand=x", "a b", "root;id", ""]) {
    const d = assertThrows(() => resolveSshUser({}, { cliUser: bad }), Diagnostic);
    assertEquals(d.code, "vmctl::ssh::invalid_user");
  }
});

Deno.test("ssh key: the generated key in the work dir comes first", () =>
  withDirs((work, home) => {
    touch(join(work, GENERATED_KEY));
    touch(join(home, "given"));
    const k = resolveSshKey({ work_dir: work }, { cliKey: join(home, "given"), home });
    assertEquals(k, { path: join(work, GENERATED_KEY), source: "generated" });
  }));

Deno.test("ssh key: --key before the VMFile private-key before ~/.ssh", () =>
  withDirs((work, home) => {
    touch(join(home, "a"));
    touch(join(home, "b"));
    touch(join(home, ".ssh", "id_ed25519"));
    assertEquals(
      resolveSshKey({ work_dir: work }, {
        cliKey: join(home, "a"),
        vmfileKey: join(home, "b"),
        home,
      })
        .source,
      "--key",
    );
    assertEquals(
      resolveSshKey({ work_dir: work }, { vmfileKey: join(home, "b"), home }).path,
      join(home, "b"),
    );
    assertEquals(
      resolveSshKey({ work_dir: work }, { home }).path,
      join(home, ".ssh", "id_ed25519"),
    );
  }));

Deno.test("ssh key: ~/.ssh is searched id_ed25519, id_ecdsa, id_rsa", () =>
  withDirs((work, home) => {
    touch(join(home, ".ssh", "id_rsa"));
    assertEquals(resolveSshKey({ work_dir: work }, { home }).path, join(home, ".ssh", "id_rsa"));
    touch(join(home, ".ssh", "id_ecdsa"));
    assertEquals(resolveSshKey({ work_dir: work }, { home }).path, join(home, ".ssh", "id_ecdsa"));
  }));

Deno.test("ssh key: a --key that does not exist is an error, not a fall-through", () =>
  withDirs((work, home) => {
    touch(join(home, ".ssh", "id_ed25519"));
    const d = assertThrows(
      () => resolveSshKey({ work_dir: work }, { cliKey: join(home, "nope"), home }),
      Diagnostic,
    );
    assertEquals(d.code, "vmctl::ssh::key_not_found");
  }));

Deno.test("ssh key: nothing found names every place searched", () =>
  withDirs((work, home) => {
    const d = assertThrows(() => resolveSshKey({ work_dir: work }, { home }), Diagnostic);
    assertEquals(d.code, "vmctl::ssh::no_key");
  }));

Deno.test("host keys: strict when vmctl recorded the VM's alias in its known_hosts", () =>
  withDirs((work) => {
    const kh = join(work, "known_hosts");
    Deno.writeTextFileSync(kh, "vmctl-web ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA\n");
    assertEquals(hostKeyPolicy({ work_dir: work, known_hosts: kh, name: "web" }), {
      knownHostsPath: kh,
      hostKeyAlias: "vmctl-web",
      policy: "strict",
    });
  }));

Deno.test("host keys: trust on first use, in the VM's own file, when vmctl injected none", () =>
  withDirs((work) => {
    const r = hostKeyPolicy({ work_dir: work, known_hosts: null, name: "raw" });
    assertEquals(r.policy, "tofu");
    assertEquals(r.knownHostsPath, join(work, "known_hosts"));
  }));

const target: SshTarget = {
  host: "127.0.0.1",
  port: 2222,
  user: "vm",
  keyPath: "/k",
  knownHostsPath: "/w/known_hosts",
  hostKeyAlias: "vmctl-x",
  hostKeyPolicy: "strict",
};

Deno.test("ssh argv: strict host keys against the VM's file, only our key, no prompts", () => {
  const argv = sshArgv(target);
  const opts = argv.flatMap((a, i) => (argv[i - 1] === "-o" ? [a] : []));
  for (
    const o of [
      "StrictHostKeyChecking=yes",
      "UserKnownHostsFile=/w/known_hosts",
      "HostKeyAlias=vmctl-x",
      "IdentitiesOnly=yes",
      "BatchMode=yes",
    ]
  ) assertEquals(opts.includes(o), true, o);
  assertEquals(argv.slice(-2), ["--", "127.0.0.1"]);
  assertEquals(argv.slice(1, 3), ["-F", "none"]);
  assertEquals(argv.some((a) => a.includes("/dev/null")), false);
});

Deno.test("ssh argv: trust-on-first-use accepts only a new key (never a changed one)", () => {
  const argv = sshArgv({ ...target, hostKeyPolicy: "tofu" });
  assertEquals(argv.includes("StrictHostKeyChecking=accept-new"), true);
});
