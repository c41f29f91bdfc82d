/**
 * Every name a VMFile holds follows one rule (lib/names.ts), so `vmctl
 * validate` and `vmctl up` never disagree: a name validate accepts is one up
 * can create, and a name validate refuses is one up refuses too.
 */
import { assertEquals } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl } from "../helpers/vmctl_cli.ts";

interface NameCase {
  rule: string;
  value: string;
  valid: boolean;
  vmfile: (value: string) => string;
}

const vmNamed = (name: string) =>
  `vm ${JSON.stringify(name)} {\n  image "disk.qcow2"\n  cloud-init {}\n  ssh { user "vm" }\n}\n`;
const withUser = (user: string) =>
  `vm "a" {\n  image "disk.qcow2"\n  cloud-init {}\n  ssh { user ${JSON.stringify(user)} }\n}\n`;
const withHost = (host: string) =>
  `vm "a" {\n  image "disk.qcow2"\n  cloud-init { hostname ${JSON.stringify(host)} }\n}\n`;

const CASES: NameCase[] = [
  { rule: "VM name", value: "web-1", valid: true, vmfile: vmNamed },
  { rule: "VM name", value: "my_vm.2", valid: true, vmfile: vmNamed },
  { rule: "VM name", value: "-web", valid: false, vmfile: vmNamed },
  { rule: "VM name", value: "a/b", valid: false, vmfile: vmNamed },
  { rule: "user name", value: "deploy_bot-2", valid: true, vmfile: withUser },
  { rule: "user name", value: "_svc", valid: true, vmfile: withUser },
  { rule: "user name", value: "Deploy.bot", valid: false, vmfile: withUser },
  { rule: "user name", value: "root", valid: false, vmfile: withUser },
  { rule: "user name", value: "1abc", valid: false, vmfile: withUser },
  { rule: "user name", value: "x".repeat(33), valid: false, vmfile: withUser },
  { rule: "hostname", value: "web-1.example.org", valid: true, vmfile: withHost },
  { rule: "hostname", value: "bad_host", valid: false, vmfile: withHost },
  { rule: "hostname", value: "web-", valid: false, vmfile: withHost },
];

for (const c of CASES) {
  const verdict = c.valid ? "accept" : "refuse";
  Deno.test(`validate and up both ${verdict} the ${c.rule} ${JSON.stringify(c.value)}`, async () => {
    const home = await tempHome();
    try {
      await fakeImage(home);
      await Deno.writeTextFile(`${home}/VMFile.kdl`, c.vmfile(c.value));
      const validate = await vmctl(home, ["validate"]);
      const up = await vmctl(home, ["up", "--no-provision"]);
      assertEquals(
        { validate: validate.code === 0, up: up.code === 0 },
        { validate: c.valid, up: c.valid },
        `validate:\n${validate.stderr}\nup:\n${up.stderr}`,
      );
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}
