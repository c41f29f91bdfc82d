/**
 * Guards of the architecture, read from the source tree (nothing is run):
 * processes start only in the one runner, and each shared rule or utility is
 * defined in its one module.
 */
import { assertEquals } from "../helpers/assert.ts";
import {
  BRIDGE_NAME_PATTERN,
  HOSTNAME_PATTERN,
  LINK_NAME_PATTERN,
  NAME_PATTERN,
} from "../../lib/names.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

const PRODUCT_DIRS = ["lib", "backends", "cli", "vm", "host"];

/** Every product source file (path relative to the repo) with its text. */
function productSources(): [string, string][] {
  const out: [string, string][] = [["main.ts", Deno.readTextFileSync(`${ROOT}main.ts`)]];
  const walk = (rel: string) => {
    for (const e of Deno.readDirSync(`${ROOT}${rel}`)) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory) walk(path);
      else if (e.isFile && path.endsWith(".ts")) {
        out.push([path, Deno.readTextFileSync(`${ROOT}${path}`)]);
      }
    }
  };
  for (const dir of PRODUCT_DIRS) walk(dir);
  return out.sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The files (outside `home`) whose text matches `pattern`. */
function offenders(pattern: RegExp, home: string[]): string[] {
  return productSources()
    .filter(([path, text]) => !home.includes(path) && pattern.test(text))
    .map(([path]) => path);
}

const HOST_IMPLEMENTATIONS = ["host/deno.ts", "host/node.ts"];

Deno.test("only the host layer touches the runtime (Deno.*, node: built-ins for I/O)", () => {
  assertEquals(offenders(/\bDeno\.[a-zA-Z]/, ["host/deno.ts"]), []);
  const nodeIo = /from "node:(fs|fs\/promises|child_process|net|os|process)"/;
  assertEquals(offenders(nodeIo, [...HOST_IMPLEMENTATIONS, "lib/image/inflate.ts"]), []);
});

Deno.test("processes are started only by the runner (backends/exec.ts) and the host layer", () => {
  assertEquals(offenders(/\bhost\.(spawn|outputSync)\(/, ["backends/exec.ts"]), []);
});

Deno.test("only cli/run.ts and main.ts end the process", () => {
  assertEquals(
    offenders(/\b(Deno|host)\.exit\(/, ["cli/run.ts", "main.ts", "host/deno.ts", "host/node.ts"]),
    [],
  );
});

Deno.test("the VM domain neither prints nor parses the command line", () => {
  const vmDomain = productSources().filter(([path]) => path.startsWith("vm/"));
  const found = vmDomain.filter(([, text]) =>
    /\bconsole\.(log|error)\(|\b(Deno|host)\.args\b|@commander-js/.test(text)
  );
  assertEquals(found.map(([path]) => path), []);
});

Deno.test("sleep and the promise deadline are defined only in lib/async.ts", () => {
  const definition =
    /function (sleep|delay|withTimeout|withDeadline|deadline)\b|(const|let) sleep\s*=|new Promise\(\(r(esolve)?\) => setTimeout\(/;
  assertEquals(offenders(definition, ["lib/async.ts"]), []);
});

Deno.test("files are replaced atomically only by lib/files.ts writeAtomic", () => {
  const home = ["lib/files.ts", ...HOST_IMPLEMENTATIONS];
  assertEquals(offenders(/\b(Deno|host)\.rename(Sync)?\(/, home), []);
  assertEquals(offenders(/\.sync\(\)|\.syncSync\(\)|fdatasync/, home), []);
});

Deno.test("file checks and the console-log tail are defined only in lib/files.ts", () => {
  const definition =
    /function (isFile|exists|fileExists|pathExists|tailFile|consoleTail|logTail)\([^)]*\):\s*(Promise<)?(boolean|string\[\])/;
  assertEquals(offenders(definition, ["lib/files.ts"]), []);
});

Deno.test("each name rule is written only in lib/names.ts", () => {
  for (const rule of [NAME_PATTERN, HOSTNAME_PATTERN, BRIDGE_NAME_PATTERN, LINK_NAME_PATTERN]) {
    const literal = `/${rule.source}/`;
    const found = productSources().filter(([path, text]) =>
      path !== "lib/names.ts" && text.toLowerCase().includes(literal.toLowerCase())
    );
    assertEquals(found.map(([path]) => path), [], literal);
  }
});

Deno.test("the defaults are defined only in lib/defaults.ts", () => {
  const definition =
    /\b(DEFAULT_SSH_USER|DEFAULT_ACCEL|DEFAULT_BRIDGE|VM_LIMITS|STOP_TIMEOUT_MS|SSH_READY_TIMEOUT_MS|PROVISION_READY_TIMEOUT_MS|COMMAND_TIMEOUT_MS)\s*(:[^=]+)?=/;
  assertEquals(offenders(definition, ["lib/defaults.ts"]), []);
  assertEquals(offenders(/env\("VMCTL_ACCEL"\)/, []), []);
  assertEquals(offenders(/(\?\?|:)\s*"br0"/, ["lib/defaults.ts"]), []);
  assertEquals(
    offenders(/\[0-9a-fA-F\]\{64\}|\[0-9a-f\]\{64\}/, ["lib/image_ref.ts"]),
    [],
  );
});

Deno.test("KDL text is parsed only by the strict core (lib/kdl.ts)", () => {
  const kdlParse =
    /\bInvalidKdlError\b|storeLocations|import \{[^}]*\bparse\b[^}]*\} from "@bgotink\/kdl"/;
  assertEquals(offenders(kdlParse, ["lib/kdl.ts"]), []);
});
