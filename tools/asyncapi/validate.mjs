// Parses each AsyncAPI document named on the command line with the official AsyncAPI parser
// (@asyncapi/parser, pinned in package-lock.json) and prints its diagnostics, one a line:
//   <file>: <error|warning|info|hint> <code> <path>: <message>
// Errors (the document is not valid AsyncAPI) fail: exit 1. Warnings and hints (the parser's
// style rules, e.g. "no description") are printed but do not fail: they are advice, not
// conformance. Usage: node validate.mjs FILE...
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const SEVERITY = {
  [DiagnosticSeverity.Error]: "error",
  [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "info",
  [DiagnosticSeverity.Hint]: "hint",
};

const parser = new Parser();
let failed = 0;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs FILE...");
  process.exit(2);
}
for (const file of files) {
  const { document, diagnostics } = await parser.parse(await readFile(file, "utf8"), {
    source: file,
  });
  const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error);
  for (const d of diagnostics) {
    console.log(`${file}: ${SEVERITY[d.severity]} ${d.code} ${d.path.join("/")}: ${d.message}`);
  }
  if (document === undefined || errors.length > 0) {
    failed += 1;
    console.log(`${file}: INVALID (${errors.length} errors)`);
  } else {
    console.log(`${file}: valid AsyncAPI ${document.version()}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
