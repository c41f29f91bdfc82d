/**
 * The one `sleep` and the one deadline for promises, composed from the
 * platform's own primitives (setTimeout, AbortController, AbortSignal.any) in
 * the manner of Deno std's async/deadline.ts. The deadline's timer is a
 * plain (referenced) setTimeout, cleared once the promise settles: a wait on
 * something that can never settle still ends with the timeout error instead
 * of the runtime exiting under it, as an unreferenced AbortSignal.timeout would.
 *
 * @module
 */

/** Resolve after `ms` milliseconds (a negative wait is none); reject with the reason when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Settle like `p`, or reject with `signal`'s reason as soon as it aborts. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => (onAbort = () => reject(signal.reason)));
  signal.addEventListener("abort", onAbort, { once: true });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

/** Options for {@link deadline}. */
export interface DeadlineOptions {
  /** The error to reject with when time runs out (default: the platform's TimeoutError). */
  onTimeout?: () => unknown;
  /** Stop waiting early when this aborts (rejects with its reason). */
  signal?: AbortSignal;
}

/** Settle like `p` if it does within `ms` milliseconds; otherwise reject (see {@link DeadlineOptions}). */
export async function deadline<T>(p: Promise<T>, ms: number, o: DeadlineOptions = {}): Promise<T> {
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new DOMException("Signal timed out.", "TimeoutError")),
    Math.max(0, ms),
  );
  const signal = o.signal ? AbortSignal.any([o.signal, timeout.signal]) : timeout.signal;
  try {
    return await abortable(p, signal);
  } catch (err) {
    if (err === timeout.signal.reason && o.onTimeout) throw o.onTimeout();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
