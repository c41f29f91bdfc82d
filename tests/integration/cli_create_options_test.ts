import { assertEquals, assertStringIncludes } from "../helpers/assert.ts";
import { fakeImage, tempHome, vmctl, vmctlOk } from "../helpers/vmctl_cli.ts";

async function withHome(fn: (home: string) => Promise<void>): Promise<void> {
  const home = await tempHome();
  try {
    await fakeImage(home);
    await fn(home);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const BAD: [string, string[], string, number][] = [
  ["no image", [], "vmctl::create::no_image", 2],
  [
    "both images",
    ["--image", "disk.qcow2", "--image-url", "https://e.x/d.img"],
    "vmctl::create::image_conflict",
    2,
  ],
  ["zero vcpus", ["--image", "disk.qcow2", "--vcpus", "0"], "vmctl::usage::invalid_number", 2],
  [
    "vcpus with junk",
    ["--image", "disk.qcow2", "--vcpus", "2x"],
    "vmctl::usage::invalid_number",
    2,
  ],
  [
    "absurd memory",
    ["--image", "disk.qcow2", "--memory", "99999999999"],
    "vmctl::usage::invalid_number",
    2,
  ],
  ["unknown accel", ["--image", "disk.qcow2", "--accel", "hvf"], "vmctl::usage::invalid_choice", 2],
  [
    "bridge with user network",
    ["--image", "disk.qcow2", "--bridge", "br0", "--network", "user"],
    "vmctl::create::bridge_without_tap",
    2,
  ],
  ["ftp url", ["--image-url", "ftp://e.x/d.img"], "vmctl::create::invalid_url", 2],
  [
    "malformed oci reference",
    ["--image-url", "oci://ghcr.io/X/y:1"],
    "vmctl::create::invalid_url",
    2,
  ],
  [
    "short sha256",
    ["--image-url", "https://e.x/d.img", "--image-sha256", "abc"],
    "vmctl::create::invalid_sha256",
    2,
  ],
  [
    "sha256 without url",
    ["--image", "disk.qcow2", "--image-sha256", "a".repeat(64)],
    "vmctl::create::sha256_without_url",
    2,
  ],
  ["missing image file", ["--image", "nope.qcow2"], "vmctl::image::not_found", 1],
  [
    "missing ssh key",
    ["--image", "disk.qcow2", "--ssh-key", "nope.pub"],
    "vmctl::create::file_not_found",
    1,
  ],
  ["bad user", ["--image", "disk.qcow2", "--user", "Root;x"], "vmctl::usage::invalid_user", 2],
];

for (const [what, args, code, exit] of BAD) {
  Deno.test(`create refuses ${what} with ${code} and leaves no trace`, async () => {
    await withHome(async (home) => {
      const r = await vmctl(home, ["create", "--name", "o", ...args]);
      assertEquals(r.code, exit, r.stderr);
      assertStringIncludes(r.stderr, code);
      assertStringIncludes(r.stderr, "hint:");
      assertEquals(JSON.parse(await vmctlOk(home, ["list", "--json"])), []);
    });
  });
}

const IMAGE_URL = "https://example.invalid/disk.img";

/** `vmctl create --name u --image-url IMAGE_URL --image-sha256 DIGEST`: the image source recorded. */
async function createFromUrl(home: string, digest: string): Promise<unknown> {
  await vmctlOk(home, [
    "create",
    "--name",
    "u",
    "--image-url",
    IMAGE_URL,
    "--image-sha256",
    digest,
  ]);
  return JSON.parse(await Deno.readTextFile(`${home}/vmctl/vms.json`)).vms.u.image_source;
}

Deno.test("create --image-url on the noop backend records the URL without downloading", async () => {
  await withHome(async (home) => {
    const source = await createFromUrl(home, "A".repeat(64));
    const st = JSON.parse(await vmctlOk(home, ["status", "u", "--json"]));
    assertEquals(st.image_path, null);
    assertEquals(source, { kind: "url", url: IMAGE_URL, sha256: "a".repeat(64) });
  });
});

Deno.test("create takes a sha256:-prefixed digest as the VMFile does", async () => {
  await withHome(async (home) => {
    const digest = "b".repeat(64);
    const source = await createFromUrl(home, `sha256:${digest}`);
    assertEquals(source, { kind: "url", url: IMAGE_URL, sha256: digest });
  });
});

Deno.test("create records the private half of --ssh-key for vmctl ssh", async () => {
  await withHome(async (home) => {
    const kg = await new Deno.Command("ssh-keygen", {
      args: ["-q", "-t", "ed25519", "-N", "", "-f", `${home}/id_test`],
    }).output();
    assertEquals(kg.code, 0);
    await vmctlOk(home, [
      "create",
      "--name",
      "k",
      "--image",
      "disk.qcow2",
      "--ssh-key",
      "id_test.pub",
      "--user",
      "ops",
    ]);
    const st = JSON.parse(await vmctlOk(home, ["status", "k", "--json"]));
    assertEquals(st.ssh_private_key, `${home}/id_test`);
    assertEquals(st.ssh_user, "ops");
  });
});
