#!/usr/bin/env bash
# Packs the package as `npm publish` would, installs the tarball into a scratch project (from
# the npm cache where it can), and uses it as a user would: an ESM script importing every entry
# point, `tsc` with `module: nodenext` and with `moduleResolution: bundler`, and `require()`
# from CommonJS (Node.js >= 20.19 loads an ESM-only package synchronously when it has no
# top-level await). Run by .ci/run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/idempotent-smoke-XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "smoke-tarball: $1" >&2
  exit 1
}

cd "$root"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
contents="$(tar -tzf "$tarball")"
grep -qx 'package/dist/index.js' <<<"$contents" || fail "the tarball has no dist/index.js"
if grep -E '\.map$|\.test(-d)?\.|^package/(src|test|bench|scripts|examples)/' <<<"$contents"; then
  fail "the tarball ships source maps, tests or sources (above)"
fi

# Same versions as the repository's lockfile, so they come from the npm cache.
version() { node -p "require('$root/node_modules/$1/package.json').version"; }
deps=()
for name in typescript @types/node @types/express express fastify hono ioredis iovalkey redis \
  @opentelemetry/api vitest fast-check; do
  deps+=("$name@$(version "$name")")
done
mkdir "$work/app"
cd "$work/app"
echo '{ "name": "smoke", "private": true, "type": "module" }' >package.json
npm install --silent --no-audit --no-fund --prefer-offline "$tarball" "${deps[@]}"

entries=(idempotent idempotent/store idempotent/memory idempotent/valkey idempotent/redis
  idempotent/http idempotent/fetch idempotent/express idempotent/fastify idempotent/hono
  idempotent/testing idempotent/tracing)

# ESM: every entry point loads and exports something; the default fingerprint is XXH3-128.
{
  for index in "${!entries[@]}"; do echo "import * as entry$index from \"${entries[$index]}\";"; done
  echo "const entries = { $(for index in "${!entries[@]}"; do printf '"%s": entry%s, ' "${entries[$index]}" "$index"; done) };"
  cat <<'JS'
for (const [name, entry] of Object.entries(entries)) {
  if (Object.keys(entry).length === 0) throw new Error(`${name} exports nothing`);
}
const { DefaultFingerprintStrategy, Idempotency } = entry0;
const { MemoryStore } = entry2;
const hex = DefaultFingerprintStrategy.compute("POST /orders", '{"sku":42}').hex;
if (hex !== process.argv[2]) throw new Error(`fingerprint ${hex}, expected ${process.argv[2]}`);
if (typeof Idempotency !== "function" || typeof MemoryStore !== "function") {
  throw new Error("Idempotency or MemoryStore missing");
}
console.log(`ESM: ${Object.keys(entries).length} entry points load`);
JS
} >smoke.mjs
expected="$(node -e '
  const v = require(process.argv[1]).fingerprints.find(
    (f) => f.operation === "POST /orders" && f.body.text === "{\"sku\":42}");
  console.log(v.xxh128);' "$root/test/vectors/xxh3-128.json")"
node smoke.mjs "$expected"

# TypeScript: the declarations resolve and type-check for both resolution modes.
{
  for index in "${!entries[@]}"; do echo "import * as entry$index from \"${entries[$index]}\";"; done
  cat <<'TS'
import type { FingerprintStrategy, IdempotencyStore } from "idempotent";
const strategy: FingerprintStrategy = entry0.DefaultFingerprintStrategy;
const store: IdempotencyStore = new entry2.MemoryStore();
export const used = [strategy, store, entry1, entry3, entry4, entry5, entry6, entry7, entry8,
  entry9, entry10, entry11];
TS
} >consumer.ts
cat >tsconfig.nodenext.json <<'JSON'
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext", "target": "es2022",
  "strict": true, "noEmit": true, "skipLibCheck": true, "types": ["node"] },
  "files": ["consumer.ts"] }
JSON
cat >tsconfig.bundler.json <<'JSON'
{ "compilerOptions": { "module": "esnext", "moduleResolution": "bundler", "target": "es2022",
  "strict": true, "noEmit": true, "skipLibCheck": true, "types": ["node"] },
  "files": ["consumer.ts"] }
JSON
npx tsc -p tsconfig.nodenext.json
npx tsc -p tsconfig.bundler.json
echo "tsc: nodenext and bundler resolution type-check"

# CommonJS require() of the ESM-only package (Node.js >= 20.19, no top-level await).
cat >smoke.cjs <<'JS'
const { DefaultFingerprintStrategy } = require("idempotent");
const { MemoryStore } = require("idempotent/memory");
require("idempotent/http");
require("idempotent/express");
if (typeof MemoryStore !== "function") throw new Error("MemoryStore missing");
console.log(`CommonJS: require() works, ${DefaultFingerprintStrategy.compute("", "").hex}`);
JS
node smoke.cjs

# Without the native XXH3 addon installed (an unsupported platform, a bundle, `--omit=optional`
# gone wrong), every entry point still loads and the portable XXH3-128 gives the same digest.
rm -rf node_modules/@node-rs
node smoke.mjs "$expected"
node smoke.cjs
echo "without @node-rs/xxhash: same fingerprints"
echo "smoke-tarball: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB, $(wc -l <<<"$contents") files) works"
