/**
 * A VM's resources follow one set of limits (lib/defaults.ts VM_LIMITS), so a
 * VMFile and `vmctl create` accept and refuse the same values at each bound.
 */
import { assertEquals } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl } from "../helpers/vmctl_cli.ts";

interface LimitCase {
  node: "vcpus" | "memory" | "disk";
  value: number;
  valid: boolean;
}

const CASES: LimitCase[] = [
  { node: "vcpus", value: 255, valid: true },
  { node: "vcpus", value: 256, valid: false },
  { node: "memory", value: 16, valid: true },
  { node: "memory", value: 15, valid: false },
  { node: "memory", value: 2 ** 31 - 1, valid: true },
  { node: "memory", value: 2 ** 31, valid: false },
  { node: "disk", value: 2 ** 20, valid: true },
  { node: "disk", value: 2 ** 20 + 1, valid: false },
];

for (const c of CASES) {
  const verdict = c.valid ? "accept" : "refuse";
  Deno.test(`the VMFile and create --${c.node} both ${verdict} ${c.value}`, async () => {
    const home = await tempHome();
    try {
      await fakeImage(home);
      await Deno.writeTextFile(
        `${home}/VMFile.kdl`,
        `vm "a" {\n  image "disk.qcow2"\n  ${c.node} ${c.value}\n}\n`,
      );
      const validate = await vmctl(home, ["validate"]);
      const create = await vmctl(home, [
        "create",
        "--name",
        "a",
        "--image",
        "disk.qcow2",
        `--${c.node}`,
        `${c.value}`,
        "--dry-run",
      ]);
      assertEquals(
        { validate: validate.code === 0, create: create.code === 0 },
        { validate: c.valid, create: c.valid },
        `validate:\n${validate.stderr}\ncreate:\n${create.stderr}`,
      );
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}
