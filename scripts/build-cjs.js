// CommonJS reach without a second build: after `tsc`, each entry point named by a `require`
// condition in package.json gets a one-line `.cjs` file that re-exports the ESM build through
// `require(esm)` (Node.js >= 20.19), so `import` and `require` share one module instance and
// one set of classes; and every declaration file gets a `.d.cts` twin, so TypeScript sees
// CommonJS types for a CommonJS caller under every module setting (node10 included).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import process from "node:process";
import { URL } from "node:url";

const root = new URL("../", import.meta.url);
const dist = new URL("dist/", root).pathname;

function* declarations(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) yield* declarations(path);
    else if (entry.name.endsWith(".d.ts") && !entry.name.includes(".test")) yield path;
  }
}

// Relative specifiers name the `.ts` (or `.js`) files; the twins name each other (`./x.cjs` finds `./x.d.cts`).
const relativeJs = /((?:from|import)\s*\(?\s*)(["'])(\.\.?\/[^"']+)\.[jt]s\2/g;
let twins = 0;
for (const path of declarations(dist)) {
  const text = readFileSync(path, "utf8").replace(relativeJs, "$1$2$3.cjs$2");
  writeFileSync(path.replace(/\.d\.ts$/, ".d.cts"), text);
  twins += 1;
}

const { exports } = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
let stubs = 0;
for (const [subpath, conditions] of Object.entries(exports)) {
  if (typeof conditions === "string") continue;
  const esm = conditions.import?.default;
  const cjs = conditions.require?.default;
  if (esm === undefined || cjs === undefined || cjs.replace(/\.cjs$/, ".js") !== esm) {
    throw new Error(`exports["${subpath}"]: expected require.default to be import.default as .cjs`);
  }
  const file = new URL(cjs, root).pathname;
  const target = `./${relative(join(file, ".."), new URL(esm, root).pathname)}`;
  writeFileSync(file, `"use strict";\nmodule.exports = require(${JSON.stringify(target)});\n`);
  stubs += 1;
}
process.stdout.write(`build-cjs: ${stubs} CommonJS entry points, ${twins} .d.cts declarations\n`);
