/**
 * The entry point of the built artefacts (dist/vmctl.mjs, the Node single executable): starts
 * main.ts's program unconditionally. `deno bundle` makes `import.meta.main` false in every module
 * but the entry, so a bundled main.ts never starts itself; and Node 20 and 22 have no
 * `import.meta.main` at all.
 *
 * @module
 */
import { main } from "../../main.ts";

main(Deno.args);
