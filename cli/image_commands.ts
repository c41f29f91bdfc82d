/**
 * `vmctl image pull|import|list|inspect|rm|prune`: the shared image cache. Actions
 * import their implementation (cli/image/actions.ts) lazily.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { PLAN_JSON_HELP } from "../lib/plan.ts";

/** Registers this group's commands. */
// deno-lint-ignore no-explicit-any
export function registerImageCommands(program: Command<any, any, any>): void {
  const image = program.command("image").description("manage the shared VM image cache");
  image
    .command("pull")
    .description("download an image into the cache (resumes an interrupted pull)")
    .argument("<url>", "http(s) URL of the image (.zst/.gz are decompressed)")
    .option("--name <name>", "cache name (default: the URL's file name)")
    .option("--sha256 <hex>", "expected SHA-256 of the download")
    .action(async (url, opts) => {
      const { pullCommand } = await import("./image/actions.ts");
      await pullCommand(url, opts);
    });
  image
    .command("import")
    .description("put a local image file into the cache, as if downloaded from --url")
    .argument("<file>", "qcow2 or raw image, plain or .zst/.gz/.xz")
    .option("--url <url>", "the URL the image stands for (default: the file's file:// URL)")
    .option("--name <name>", "cache name (default: the URL's file name)")
    .option("--sha256 <hex>", "expected SHA-256 of the file as given (compressed bytes)")
    .option("--dry-run", "print what would be imported; change nothing")
    .option("--json", PLAN_JSON_HELP)
    .action(async (file, opts) => {
      const { importCommand } = await import("./image/actions.ts");
      await importCommand(file, opts);
    });
  image
    .command("list")
    .description("list cached images")
    .option("--json", "print JSON")
    .action(async (opts) => {
      const { listCommand } = await import("./image/actions.ts");
      await listCommand(opts);
    });
  image
    .command("inspect")
    .description("show an image's format and sizes (qemu-img info)")
    .argument("<image>", "a file path or a cache name")
    .option("--json", "print JSON")
    .action(async (what, opts) => {
      const { inspectCommand } = await import("./image/actions.ts");
      await inspectCommand(what, opts);
    });
  image
    .command("rm")
    .description("remove a cached image (refused while a VM uses it)")
    .argument("<name>", "cache name, URL or sha256 prefix")
    .action(async (name) => {
      const { rmCommand } = await import("./image/actions.ts");
      await rmCommand(name);
    });
  image
    .command("prune")
    .description("remove unused cached files and interrupted downloads")
    .option("--dry-run", "only list what would be removed")
    .action(async (opts) => {
      const { pruneCommand } = await import("./image/actions.ts");
      await pruneCommand(opts);
    });
}
