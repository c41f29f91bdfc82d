import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { DiagnosticList } from "../../lib/diagnostics.ts";
import { addNode, formatDocument, parseKdl, setNode } from "../../lib/zones/kdl.ts";
import {
  readConfig,
  readPool,
  readPublisher,
  readTemplate,
  readZoneEntry,
  VM_ZONE_DEFAULTS,
  writePool,
  writeZoneEntry,
  type ZoneEntry,
} from "../../lib/zones/schema.ts";
import { defaultConfigText, defaultTemplateText } from "../../lib/zones/defaults.ts";
import { formatIp, formatIpRange } from "../../lib/ipam.ts";

/** Every diagnostic `fn` throws, as "code@line:col". */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof DiagnosticList) {
      return e.diagnostics.map((d) => `${d.code}@${d.span?.line}:${d.span?.column}`);
    }
    throw e;
  }
  throw new Error("expected diagnostics");
}
const file = (text: string, path = "pools/p.kdl") => parseKdl(text, path);

Deno.test("a hand-written pool is read with all its nodes", () => {
  const p = readPool(
    file(`// office LAN
network "10.0.0.0/24"
gateway "10.0.0.1"
range "10.0.0.10" "10.0.0.99"
stub "igb0"
dns "1.1.1.1" "9.9.9.9"
domain "example.com"
reserve "10.0.0.10"
reserve "10.0.0.11"
`),
    "office",
  );
  assertEquals(p.name, "office");
  assertEquals(p.network.prefix, 24);
  assertEquals(formatIp(p.gateway!), "10.0.0.1");
  assertEquals(formatIp(p.rangeStart!), "10.0.0.10");
  assertEquals(p.stub, "igb0");
  assertEquals(p.dns.map(formatIp), ["1.1.1.1", "9.9.9.9"]);
  assertEquals(p.reserved.map(formatIpRange), ["10.0.0.10", "10.0.0.11"]);
  assertEquals(p.domain, "example.com");
});

Deno.test("a reserve value is one address or a FIRST-LAST range inside the network", () => {
  const p = readPool(
    file('network "10.0.0.0/24"\nreserve "10.0.0.5" "10.0.0.20-10.0.0.29"\n'),
    "p",
  );
  assertEquals(p.reserved.map(formatIpRange), ["10.0.0.5", "10.0.0.20-10.0.0.29"]);
  assertEquals(
    problems(() =>
      readPool(
        file(
          'network "10.0.0.0/24"\nreserve "10.0.0.29-10.0.0.20"\nreserve "10.0.0.1-10.0.1.9"\n',
        ),
        "p",
      )
    ),
    ["zmgr::pool::bad_range@2:9", "zmgr::pool::outside_network@3:9"],
  );
});

Deno.test("an unknown node is reported at its line and column with a suggestion", () => {
  try {
    readPool(file('network "10.0.0.0/24"\n  gatway "10.0.0.1"\n'), "p");
    throw new Error("expected an error");
  } catch (e) {
    assert(e instanceof DiagnosticList);
    const d = e.diagnostics[0];
    assertEquals(d.code, "zmgr::kdl::unknown_node");
    assertEquals([d.span?.file, d.span?.line, d.span?.column], ["pools/p.kdl", 2, 3]);
    assertMatch(d.hint ?? "", /did you mean `gateway`/);
  }
});

Deno.test("every problem in a file is reported at once", () => {
  assertEquals(
    problems(() =>
      readPool(file('network "10.0.0.0/24"\ngateway "10.1.0.1"\nstub "igb"\nfoo 1\n'), "p")
    ),
    [
      "zmgr::kdl::unknown_node@4:1",
      "zmgr::pool::outside_network@2:9",
      "zmgr::name::invalid_link@3:6",
    ],
  );
});

Deno.test("a KDL syntax error becomes a located diagnostic", () => {
  assertEquals(
    problems(() => parseKdl('network "10.0.0.0/24"\ngateway 10.0.0.1\n', "pools/p.kdl")),
    [
      "zmgr::kdl::syntax@2:13",
    ],
  );
});

Deno.test("a pool network with host bits set is refused", () => {
  assertEquals(problems(() => readPool(file('network "10.0.0.5/24"\n'), "p")), [
    "zmgr::kdl::bad_network@1:9",
  ]);
});

Deno.test("a missing required node is reported", () => {
  assertEquals(problems(() => readPool(file('gateway "10.0.0.1"\n'), "p")), [
    "zmgr::kdl::missing_node@1:1",
  ]);
});

Deno.test("a duplicated single-valued node is reported at the second one", () => {
  assertEquals(
    problems(() => readTemplate(file('brand "ipkg"\nbrand "nlipkg"\n', "templates/t.kdl"), "t")),
    ["zmgr::kdl::duplicate_node@2:1"],
  );
});

Deno.test("bare true/false are not KDL v2 booleans: the hint says #true", () => {
  try {
    readTemplate(file('brand "ipkg"\nautoboot "yes"\n', "templates/t.kdl"), "t");
    throw new Error("expected an error");
  } catch (e) {
    assert(e instanceof DiagnosticList);
    assertMatch(e.diagnostics[0].hint ?? "", /#true/);
  }
});

Deno.test("properties and children blocks are refused", () => {
  assertEquals(
    problems(() =>
      readTemplate(file('brand "ipkg" x=1\npool "p" { a }\n', "templates/t.kdl"), "t")
    ),
    ["zmgr::kdl::unexpected_property@1:14", "zmgr::kdl::unexpected_children@2:1"],
  );
});

Deno.test("shared ip-type is refused with a reason", () => {
  assertEquals(
    problems(() => readTemplate(file('brand "ipkg"\nip-type "shared"\n', "templates/t.kdl"), "t")),
    ["zmgr::template::unsupported_ip_type@2:9"],
  );
});

Deno.test("the embedded default config and templates are valid", () => {
  const c = readConfig(parseKdl(defaultConfigText("/zones"), "config.kdl"));
  assertEquals(c, {
    defaultTemplate: "ipkg",
    zonepathRoot: "/zones",
    vnicPattern: "{name}0",
    sshKeys: [],
    vm: { ...VM_ZONE_DEFAULTS },
  });
  for (const brand of ["ipkg", "nlipkg"] as const) {
    const t = readTemplate(parseKdl(defaultTemplateText(brand, "default"), "t.kdl"), brand);
    assertEquals([t.brand, t.autoboot, t.ipType, t.pool], [brand, true, "exclusive", "default"]);
    assertEquals(t.publishers, [], "the zone inherits the global zone's publishers");
  }
});

Deno.test("config refuses a relative zonepath root and a malformed ssh key", () => {
  assertEquals(
    problems(() =>
      readConfig(parseKdl('zonepath-root "zones"\nssh-key "not a key"\n', "config.kdl"))
    ),
    ["zmgr::kdl::bad_path@1:15", "zmgr::kdl::bad_ssh_key@2:9"],
  );
});

Deno.test("a zone entry round-trips through write and read", () => {
  const e: ZoneEntry = {
    name: "web01",
    brand: "ipkg",
    template: "ipkg",
    pool: "default",
    addresses: ["10.0.0.2/24"],
    gateway: "10.0.0.1",
    vnic: "web010",
    zonepath: "/zones/web01",
    status: "creating",
    imported: false,
    created: "2026-01-01T00:00:00.000Z",
  };
  assertEquals(readZoneEntry(parseKdl(writeZoneEntry(e), "zones/web01.kdl"), "web01"), e);
});

Deno.test("a written pool reads back the same", () => {
  const text =
    'network "2001:db8::/64"\ngateway "2001:db8::1"\nrange "2001:db8::10" "2001:db8::ff"\n';
  const p = readPool(file(text), "v6");
  assertEquals(readPool(file(writePool(p)), "v6"), p);
});

Deno.test("a publisher needs an http(s) or file origin", () => {
  assertEquals(
    readPublisher(file('origin "https://pkg.openindiana.org/hipster"\n'), "oi").origin,
    "https://pkg.openindiana.org/hipster",
  );
  assertEquals(problems(() => readPublisher(file('origin "ftp://x"\n'), "oi")), [
    "zmgr::kdl::bad_origin@1:8",
  ]);
});

Deno.test("editing a node keeps the user's comments and layout", () => {
  const text = `// Office LAN, ask Jo before changing
network "10.0.0.0/24"   // the /24 from the ISP
gateway "10.0.0.1" // router

/* DNS */
dns "1.1.1.1"
`;
  const f = file(text);
  setNode(f.doc, "gateway", ["10.0.0.254"]);
  addNode(f.doc, "reserve", ["10.0.0.5"]);
  const out = formatDocument(f.doc);
  assert(out.includes("// Office LAN, ask Jo before changing"));
  assert(out.includes('network "10.0.0.0/24"   // the /24 from the ISP'));
  assert(out.includes("/* DNS */"));
  assertMatch(out, /gateway "10\.0\.0\.254" \/\/ router/);
  assertEquals(formatIpRange(readPool(file(out), "p").reserved[0]), "10.0.0.5");
});

Deno.test("setting a node to no values removes it", () => {
  const f = file('network "10.0.0.0/24"\nrange "10.0.0.2" "10.0.0.9"\n');
  setNode(f.doc, "range", []);
  assertEquals(formatDocument(f.doc), 'network "10.0.0.0/24"\n');
});

Deno.test("a zone entry zmgr wrote reads back as the same entry", () => {
  const e: ZoneEntry = {
    name: "db1",
    brand: "nlipkg",
    template: "nlipkg",
    pool: "v6",
    addresses: ["2001:db8::5/64"],
    gateway: "2001:db8::1",
    vnic: "db10",
    zonepath: "/zones/db1",
    status: "active",
    imported: true,
    created: "2026-01-01T00:00:00.000Z",
  };
  const text = writeZoneEntry(e);
  assertEquals(readZoneEntry(parseKdl(text, "zones/db1.kdl"), "db1"), e);
});
