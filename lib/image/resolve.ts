// PLACEHOLDER owned by the QEMU/image issue (#3): replaced by the real image cache.
import { Diagnostic } from "../diagnostics.ts";
import type { DataPaths } from "../paths.ts";
import type { ImageSource } from "../vmfile/types.ts";

export interface ResolveImageOptions {
  /** Print progress (TTY bar or plain lines). */
  progress?: boolean;
}

/** Return the absolute path of a usable local base image for `source`, downloading if needed. */
export function resolveImage(
  _source: ImageSource,
  _paths: DataPaths,
  _opts: ResolveImageOptions = {},
): Promise<string> {
  return Promise.reject(
    new Diagnostic("vmctl::image::unavailable", "image downloads are not available yet", {
      hint: "use a local `image` path",
    }),
  );
}
