// deno-lint-ignore-file no-var -- ES5 on purpose: see below
// The first statement of every vmctl artefact (dist/vmctl.mjs, the Node single executable):
// refuse a runtime older than vmctl supports with one line and exit code 2. ES5 syntax only,
// so that an old runtime can parse this much and say what it needs instead of a syntax error.
(function () {
  var needNode = 20;
  var needDeno = 2;
  var major = function (v) {
    return parseInt(String(v).split(".")[0], 10);
  };
  if (typeof Deno !== "undefined" && Deno.version) {
    if (major(Deno.version.deno) < needDeno) {
      console.error(
        "vmctl needs Deno " + needDeno + " or later (this is Deno " + Deno.version.deno + ")",
      );
      Deno.exit(2);
    }
  } else if (typeof process !== "undefined" && process.versions && process.versions.node) {
    if (major(process.versions.node) < needNode) {
      console.error(
        "vmctl needs Node.js " + needNode + " or later (this is Node.js " + process.versions.node +
          ")",
      );
      process.exit(2);
    }
  }
})();
