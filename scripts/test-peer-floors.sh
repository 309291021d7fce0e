#!/usr/bin/env bash
# The lowest version of each peer range the package claims, tested: the adapter tests on
# Express 4.21, Fastify 5.3 and Hono 4.8 (with @hono/node-server 1, the test server), the
# Valkey store tests on ioredis 5.3, iovalkey 0.2.1 and node-redis 5.0, the tracing tests on
# @opentelemetry/api 1.4 (the newest of each are what `npm test` uses). Found below these and
# left out of the ranges: Hono <= 4.7 (a replay differs from the first answer behind hono/cors),
# Fastify 5.0-5.2 (a torn-down answer ends in ERR_HTTP_HEADERS_SENT), ioredis < 5.3 (no named
# `Redis` export for ESM). The floors are installed into a scratch
# folder, and a scratch copy of the repository (node_modules hard-linked) has those packages
# swapped for them, so the checkout is never touched. Run by .ci/run.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# IDEMPOTENT_PEER_FLOORS="hono@4.6.0 ..." and test files as arguments narrow a run by hand.
default_floors=(express@4.21.0 fastify@5.3.0 hono@4.8.0 @hono/node-server@1 ioredis@5.3.0 iovalkey@0.2.1
  redis@5.0.0 @opentelemetry/api@1.4.0)
read -r -a floors <<<"${IDEMPOTENT_PEER_FLOORS:-${default_floors[*]}}"
work="$(mktemp -d "${TMPDIR:-/tmp}/idempotent-floors-XXXXXX")"
trap 'rm -rf "$work"' EXIT

npm install --prefix "$work/floors" --no-save --no-audit --no-fund --prefer-offline \
  "${floors[@]}" >/dev/null
mkdir "$work/repo"
tar -C "$root" --exclude=./node_modules --exclude=./.git --exclude=./dist -cf - . | tar -C "$work/repo" -xf -
# Hard links where the scratch folder is on the same file system, a copy otherwise.
cp -al "$root/node_modules" "$work/repo/node_modules" 2>/dev/null \
  || { rm -rf "$work/repo/node_modules"; cp -a "$root/node_modules" "$work/repo/node_modules"; }
for spec in "${floors[@]}"; do
  name="${spec%@*}"
  rm -rf "$work/repo/node_modules/$name"
  ln -s "$work/floors/node_modules/$name" "$work/repo/node_modules/$name"
done

cd "$work/repo"
for spec in "${floors[@]}"; do
  name="${spec%@*}"
  printf '%s %s; ' "$name" "$(node -p "require('./node_modules/$name/package.json').version" 2>/dev/null \
    || node -p "JSON.parse(require('fs').readFileSync('node_modules/$name/package.json')).version")"
done
echo
tests=(test/http/express.test.ts test/http/fastify.test.ts test/http/hono.test.ts
  test/http/edges.test.ts test/stores/valkey-store.test.ts
  test/stores/valkey-store.conformance.test.ts test/tracing/traced-store.test.ts)
[ $# -gt 0 ] && tests=("$@")
# One retry: the HTTP suite's disconnect test races a 100 ms timer and can lose under heavy
# load (seen once with Express 4.21 on a machine at load 14; it passes alone on every floor).
# Nest 11+ needs Express 5: with Express 4 the adapter tests leave the Nest apps out.
without_nest=0
[[ " ${floors[*]} " == *" express@4"* ]] && without_nest=1
IDEMPOTENT_WITHOUT_NEST=$without_nest IDEMPOTENT_SKIP_TEST_SETUP=1 npx vitest run --retry=1 "${tests[@]}"
