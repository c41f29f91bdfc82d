import { assert, assertEquals, assertThrows } from "../helpers/assert.ts";
import { Diagnostic } from "../../lib/diagnostics.ts";
import {
  buildZonecfgScript,
  parseZoneadmList,
  parseZonecfgInfo,
  quoteZonecfgValue,
} from "../../lib/zones/zonecfg.ts";
import { buildSysdingConf, shellQuote } from "../../lib/zones/sysding.ts";
import { validateLinkName, validateZoneName, vnicNameFor } from "../../lib/zones/names.ts";

Deno.test("the zonecfg script configures an exclusive-IP zone with its VNIC and address", () => {
  assertEquals(
    buildZonecfgScript({
      brand: "ipkg",
      zonepath: "/zones/web01",
      autoboot: true,
      vnic: "web010",
      nets: [{ allowedAddress: "10.0.0.2/24", defrouter: "10.0.0.1" }],
    }),
    [
      "create -b",
      "set brand=ipkg",
      "set zonepath=/zones/web01",
      "set autoboot=true",
      "set ip-type=exclusive",
      "add net",
      "set physical=web010",
      "set allowed-address=10.0.0.2/24",
      "set defrouter=10.0.0.1",
      "end",
      "verify",
      "commit",
      "",
    ].join("\n"),
  );
});

Deno.test("a dual-stack zone gets one net per address, both over its one VNIC", () => {
  const script = buildZonecfgScript({
    brand: "ipkg",
    zonepath: "/zones/ds",
    autoboot: true,
    vnic: "ds0",
    nets: [
      { allowedAddress: "10.0.0.2/24", defrouter: "10.0.0.1" },
      { allowedAddress: "2001:db8::2/64", defrouter: "2001:db8::1" },
    ],
  });
  assertEquals(
    script.split("\n").slice(5, -3),
    [
      "add net",
      "set physical=ds0",
      "set allowed-address=10.0.0.2/24",
      "set defrouter=10.0.0.1",
      "end",
      "add net",
      "set physical=ds0",
      "set allowed-address=2001:db8::2/64",
      "set defrouter=2001:db8::1",
      "end",
    ],
  );
});

Deno.test("plain tokens stay unquoted; anything else is double-quoted", () => {
  assertEquals(quoteZonecfgValue("/zones/a"), "/zones/a");
  assertEquals(quoteZonecfgValue("2001:db8::5/64"), "2001:db8::5/64");
  assertEquals(quoteZonecfgValue("a b"), '"a b"');
  assertEquals(quoteZonecfgValue("a;set autoboot=false"), '"a;set autoboot=false"');
  assertEquals(quoteZonecfgValue("x=y"), '"x=y"');
});

Deno.test("values with a double quote, newline or control character are refused", () => {
  for (const v of ['a"; add fs', "a\nadd fs", "a\rb", "a\x00", ""]) {
    const d = assertThrows(() => quoteZonecfgValue(v), Diagnostic);
    assertEquals(d.code, "zmgr::zonecfg::unsafe_value");
  }
});

Deno.test("no script value can start a new zonecfg command", () => {
  const script = buildZonecfgScript({
    brand: "ipkg",
    zonepath: "/zones/x; add fs",
    autoboot: false,
    vnic: "x0",
    nets: [{ allowedAddress: "10.0.0.2/24" }],
  });
  // Every line starts with a command zmgr wrote; the hostile value stays inside quotes.
  for (const line of script.trim().split("\n")) {
    assert(/^(create -b|set [a-z-]+=|add net|end|verify|commit)/.test(line), line);
  }
  assert(script.includes('set zonepath="/zones/x; add fs"'));
});

Deno.test("zonecfg info is parsed (illumos-gate net order, TAB-indented, trailing spaces)", () => {
  const info = parseZonecfgInfo(
    "zonename: web1\nzonepath: /zones/web1\nbrand: ipkg\nautoboot: true\nbootargs: \npool: \n" +
      "ip-type: exclusive\nhostid: \nfs-allowed: \n[max-lwps: 2000]\nnet:\n\taddress not specified\n" +
      "\tallowed-address: 10.0.0.5/24\n\tphysical: web1net0\n\tdefrouter: 10.0.0.1\n" +
      "attr:\n\tname: dns-domain\n\ttype: string\n\tvalue: example.com\n",
  );
  assertEquals(info, {
    zonename: "web1",
    zonepath: "/zones/web1",
    brand: "ipkg",
    autoboot: true,
    ipType: "exclusive",
    nets: [{ allowedAddress: "10.0.0.5/24", physical: "web1net0", defrouter: "10.0.0.1" }],
  });
});

Deno.test("zonecfg info in the OmniOS net order parses the same", () => {
  const info = parseZonecfgInfo(
    "zonename: w\nbrand: lipkg\nnet:\n\taddress not specified\n\tallowed-address: 10.0.0.5/24\n" +
      "\tdefrouter: 10.0.0.1\n\tglobal-nic not specified\n\tmac-addr not specified\n\tphysical: w0\n" +
      "\tvlan-id not specified\n",
  );
  assertEquals(info.nets, [{
    allowedAddress: "10.0.0.5/24",
    defrouter: "10.0.0.1",
    physical: "w0",
  }]);
});

Deno.test("zoneadm list -cp lines parse with 7 or 8 fields and an escaped zonepath", () => {
  const zones = parseZoneadmList(
    "0:global:running:/::ipkg:shared:0\n" +
      "-:web1:installed:/zones/web1:2f6b-uuid:lipkg:excl:12\n" +
      "-:odd:configured:/zones/a\\:b::ipkg:excl\n" +
      "garbage\n",
  );
  assertEquals(zones.map((z) => [z.name, z.state, z.zonepath, z.brand, z.ipType]), [
    ["global", "running", "/", "ipkg", "shared"],
    ["web1", "installed", "/zones/web1", "lipkg", "excl"],
    ["odd", "configured", "/zones/a:b", "ipkg", "excl"],
  ]);
});

Deno.test("sysding.conf sets DNS, hostname and root keys", () => {
  const conf = buildSysdingConf({
    hostname: "web01",
    dns: ["1.1.1.1", "9.9.9.9"],
    domain: "example.com",
    sshKeys: ["ssh-ed25519 AAAAC3Nza me@host"],
  });
  assert(conf.includes("setup_ns_dns 'example.com' 'example.com' '1.1.1.1 9.9.9.9'"));
  assert(conf.includes("printf '%s\\n' 'web01' > /etc/nodename"));
  assert(
    conf.includes("printf '%s\\n' 'ssh-ed25519 AAAAC3Nza me@host' >> /root/.ssh/authorized_keys"),
  );
});

Deno.test("shell quoting cannot be escaped by a single quote", () => {
  assertEquals(shellQuote("a'; reboot; '"), "'a'\\''; reboot; '\\'''");
});

Deno.test("zone names follow illumos rules; global and SUNW* are reserved", () => {
  assertEquals(validateZoneName("web-01.x"), "web-01.x");
  for (const bad of ["global", "SUNWx", "-a", "a/b", "a b", "", "x".repeat(64), "../etc"]) {
    assertEquals(
      assertThrows(() => validateZoneName(bad), Diagnostic).code,
      "zmgr::name::invalid",
      bad,
    );
  }
});

Deno.test("VNIC names must be valid dladm link names", () => {
  assertEquals(validateLinkName("web010"), "web010");
  for (const bad of ["web", "0web0", "a-b0", "x".repeat(30) + "0", "a;b0"]) {
    assertEquals(
      assertThrows(() => validateLinkName(bad), Diagnostic).code,
      "zmgr::name::invalid_link",
      bad,
    );
  }
});

Deno.test("the VNIC pattern yields a valid dladm name for any zone name", () => {
  assertEquals(vnicNameFor("web01"), "web010");
  assertEquals(vnicNameFor("db-primary"), "db_primary0");
  assertEquals(vnicNameFor("web.01"), "web_010");
  assertEquals(vnicNameFor("1zone"), "z1zone0");
  assertEquals(vnicNameFor("web", "{name}net"), "webnet0");
  const long = vnicNameFor("a".repeat(63));
  assertEquals(long.length, 30);
  assert(long.endsWith("0"));
});
