/**
 * The Debian cloud-init guest image for e2e tests, demo and benchmarks:
 * built (or reused from the cache) by scripts/build-guest-image.sh, which
 * prints the image path on its last stdout line.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** scripts/build-guest-image.sh of this checkout. */
export const BUILD_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "scripts",
  "build-guest-image.sh",
);

/** Set VMCTL_SKIP_E2E=1 to skip the guest tests (e.g. no root to build the image). */
export function e2eSkipped(): boolean {
  return Deno.env.get("VMCTL_SKIP_E2E") === "1";
}

/**
 * Path of the guest image, building it first when the cache is cold (about a
 * minute as root). Throws with the script's output when it cannot be built.
 */
export async function guestImage(): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [BUILD_SCRIPT],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const stdout = dec.decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `build-guest-image.sh failed (exit ${out.code}):\n${dec.decode(out.stderr)}\n` +
        "set VMCTL_SKIP_E2E=1 to skip the guest tests",
    );
  }
  const path = stdout.split("\n").pop()!;
  await Deno.stat(path); // the script promised it exists
  return path;
}
