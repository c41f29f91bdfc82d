/**
 * The one door to the runtime: every file, process, socket, signal and
 * terminal vmctl touches goes through `host`. It is Deno's implementation
 * unless an entry point installs another (the Node build installs
 * host/node.ts before it loads main.ts). A test guards that no other module
 * touches `Deno.*` (tests/unit/architecture_test.ts).
 *
 * @module
 */
import { denoHost } from "./deno.ts";
import type { Host } from "./types.ts";

export type * from "./types.ts";
export * from "./errors.ts";

/** The runtime vmctl runs on. */
export let host: Host = denoHost;

/** Use `impl` from now on: called once by an entry point, before anything else runs. */
export function installHost(impl: Host): void {
  host = impl;
}
