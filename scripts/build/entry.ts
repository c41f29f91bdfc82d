/**
 * The entry point of the built artefacts (dist/vmctl.mjs, the Node single executable). On Node it
 * installs the Node host before any module of vmctl runs (main.ts is loaded after it); under
 * `deno run` the Deno host stays. It starts main.ts's program itself: `deno bundle` makes
 * `import.meta.main` false in every module but the entry, Node 20 and 22 have no
 * `import.meta.main`, and the single executable's CommonJS has no `import.meta` at all.
 *
 * @module
 */
import { installHost } from "../../host/mod.ts";
import { nodeHost } from "../../host/node.ts";

if (typeof Deno === "undefined") installHost(nodeHost);
// A promise, not a top-level await: the single executable's bundle is CommonJS.
import("../../main.ts").then(({ main }) => main());
