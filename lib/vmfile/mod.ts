/**
 * VMFile.kdl: discovery, parsing, validation and VM selection. The only
 * module other code imports; the model is in ./types.ts. Reference:
 * docs/vmfile.md.
 *
 * @module
 */
export { discoverVmFile, loadVmFile, selectVms, VMFILE_NAME } from "./discover.ts";
export { parseVmFile } from "./parse.ts";
export { requireLocalFiles } from "./files.ts";
export type { ImageSource, ProvisionStep, VmDef, VmFile } from "./types.ts";
