/**
 * The few assertions the tests use, in the style of @std/assert (JSR is not
 * reachable here), built on node:assert so failures show a proper diff.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  nodeAssert.match(actual, re, msg);
}

export function assertStringIncludes(actual: string, part: string, msg?: string): void {
  nodeAssert.ok(
    actual.includes(part),
    msg ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(part)}`,
  );
}

// deno-lint-ignore no-explicit-any
type Ctor<E> = new (...args: any[]) => E;

/** Assert that `fn` throws an instance of `cls` and return the error. */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  cls?: Ctor<E>,
  msgIncludes?: string,
): E {
  try {
    fn();
  } catch (err) {
    checkError(err, cls, msgIncludes);
    return err as E;
  }
  throw new nodeAssert.AssertionError({ message: "expected function to throw" });
}

/** Assert that `fn` rejects with an instance of `cls` and return the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => PromiseLike<unknown>,
  cls?: Ctor<E>,
  msgIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    checkError(err, cls, msgIncludes);
    return err as E;
  }
  throw new nodeAssert.AssertionError({ message: "expected promise to reject" });
}

function checkError(err: unknown, cls?: Ctor<Error>, msgIncludes?: string): void {
  if (cls && !(err instanceof cls)) {
    throw new nodeAssert.AssertionError({
      message: `expected ${cls.name}, got ${
        err instanceof Error ? `${err.name}: ${err.message}` : String(err)
      }`,
    });
  }
  if (msgIncludes && !(err instanceof Error && err.message.includes(msgIncludes))) {
    throw new nodeAssert.AssertionError({
      message: `expected error message to include ${JSON.stringify(msgIncludes)}, got ${
        String(err)
      }`,
    });
  }
}
