/**
 * A fresh temporary directory for the length of a test.
 *
 * @module
 */

/** Run `fn` with a new temp dir that is removed afterwards, whatever `fn` does. */
export async function withTempDir<T>(
  fn: (dir: string) => T | Promise<T>,
  prefix = "vmctl-test-",
): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
