#!/usr/bin/env bash
# Packs the package as `npm publish` would, installs the tarball into a scratch project (from
# the npm cache where it can), and uses it as a user would: an ESM script importing every entry
# point, `tsc` with `module: nodenext` and with `moduleResolution: bundler`, CommonJS callers
# (`require()` and TypeScript's `module: commonjs`, `node16` and `nodenext`) sharing one module
# instance with `import`, and a NestJS application with Nest's default tsconfig. Run by .ci/run.
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
  @opentelemetry/api vitest fast-check @nestjs/common @nestjs/core @nestjs/platform-express \
  reflect-metadata rxjs; do
  deps+=("$name@$(version "$name")")
done
mkdir "$work/app"
cd "$work/app"
echo '{ "name": "smoke", "private": true, "type": "module" }' >package.json
npm install --silent --no-audit --no-fund --prefer-offline "$tarball" "${deps[@]}"

entries=(idempotent idempotent/store idempotent/memory idempotent/valkey idempotent/redis
  idempotent/http idempotent/fetch idempotent/express idempotent/fastify idempotent/hono
  idempotent/testing idempotent/tracing idempotent/nestjs)

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
  entry9, entry10, entry11, entry12];
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

# CommonJS: `require()` gets the very module `import` gets (one instance, one set of classes:
# no dual-package hazard), so an error the library throws is `instanceof` the class either way.
cat >smoke.cjs <<'JS'
const { DefaultFingerprintStrategy } = require("idempotent");
const { MemoryStore } = require("idempotent/memory");
const entries = process.argv.slice(2);
if (typeof MemoryStore !== "function") throw new Error("MemoryStore missing");
(async () => {
  for (const entry of entries) {
    if (require(entry) !== (await import(entry))) throw new Error(`${entry}: two instances`);
  }
  const imported = await import("idempotent");
  const { HttpIdempotency } = require("idempotent/http");
  for (const [make, by] of [
    [() => new HttpIdempotency({ store: new MemoryStore(), scope: "nobody" }), "require"],
    [async () => new (await import("idempotent/http")).HttpIdempotency({ scope: 1 }), "import"],
  ]) {
    const error = await Promise.resolve().then(make).then(() => undefined, (caught) => caught);
    if (!(error instanceof imported.InvalidArgumentError)) throw new Error(`${by}: not instanceof`);
    if (!(error instanceof require("idempotent").IdempotencyError)) throw new Error(`${by}: base`);
  }
  console.log(`CommonJS: require() and import share ${entries.length} entry points, ${DefaultFingerprintStrategy.compute("", "").hex}`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
JS
node smoke.cjs "${entries[@]}"

# TypeScript in a CommonJS package: Nest 11's default (`module: commonjs`, node10 resolution,
# which ignores `exports`), `node16` and `nodenext`, library declarations checked too. (The
# NestJS entry is checked by the Nest project below: Nest 12's own types are ESM-only, which
# node16 cannot require.)
mkdir cjs
echo '{ "name": "smoke-cjs", "private": true }' >cjs/package.json
{
  for index in "${!entries[@]}"; do
    [ "${entries[$index]}" = idempotent/nestjs ] || echo "import * as entry$index from \"${entries[$index]}\";"
  done
  cat <<'TS'
import { InvalidArgumentError, type IdempotencyStore } from "idempotent";
const store: IdempotencyStore = new entry2.MemoryStore();
export const used = [store, InvalidArgumentError, entry0, entry1, entry3, entry4, entry5, entry6,
  entry7, entry8, entry9, entry10, entry11];
TS
} >cjs/consumer.ts
for mode in "commonjs node10" "node16 node16" "nodenext nodenext"; do
  read -r module resolution <<<"$mode"
  npx tsc --module "$module" --moduleResolution "$resolution" --target es2022 --strict \
    --esModuleInterop --skipLibCheck false --types node --noEmit --ignoreDeprecations 5.0 \
    cjs/consumer.ts || fail "tsc --module $module --moduleResolution $resolution"
done
echo "tsc: CommonJS callers type-check (module commonjs/node10, node16, nodenext)"

# NestJS with the tsconfig `nest new` writes (a CommonJS package, `module: nodenext`, as of Nest
# 12) and with Nest 11's (`module: commonjs`): it type-checks, builds and answers a replay.
mkdir -p nest/src
echo '{ "name": "smoke-nest", "private": true }' >nest/package.json
cat >nest/src/main.ts <<'TS'
import { Body, Controller, Module, Post, UseGuards, type CanActivate, type ExecutionContext } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { InvalidArgumentError } from "idempotent";
import { MemoryStore } from "idempotent/memory";
import { Idempotent, IdempotencyModule, IdempotencyProblemException } from "idempotent/nestjs";

interface AuthedRequest { headers: { authorization?: string }; user?: { id: string } }

class AuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    request.user = { id: request.headers.authorization ?? "anonymous" };
    return true;
  }
}

@Controller("orders")
@UseGuards(AuthGuard)
class OrdersController {
  runs = 0;
  @Post()
  @Idempotent({ required: true })
  create(@Body() body: { sku: number }) {
    this.runs += 1;
    return { order: this.runs, sku: body.sku };
  }
}

@Module({
  imports: [
    IdempotencyModule.forRoot<AuthedRequest>({ store: new MemoryStore(), scope: (request) => request.user?.id }),
  ],
  controllers: [OrdersController],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, "127.0.0.1");
  const url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
  const send = (body: string) =>
    fetch(`${url}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "alice", "idempotency-key": "k1" },
      body,
    });
  const first = await send('{"sku":1}');
  const retry = await send('{"sku":1}');
  const conflict = await send('{"sku":2}');
  const text = [await first.text(), await retry.text()];
  await app.close();
  if (first.status !== 201 || retry.headers.get("idempotent-replayed") !== "true" || text[0] !== text[1]) {
    throw new Error(`no replay: ${first.status} ${retry.status} ${text.join(" ")}`);
  }
  if (conflict.status !== 422) throw new Error(`expected 422, got ${conflict.status}`);
  const problem = new IdempotencyProblemException({ type: "t", title: "t", status: 409 });
  if (!(problem instanceof Error) || !(new InvalidArgumentError("a", "b") instanceof Error)) {
    throw new Error("classes");
  }
  console.log("NestJS (CommonJS): replayed", text[1]);
}
void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
TS
# The schematics' application tsconfig (@nestjs/schematics 12), and Nest 11's module setting.
cat >nest/tsconfig.json <<'JSON'
{ "compilerOptions": { "module": "nodenext", "moduleResolution": "nodenext",
  "resolvePackageJsonExports": true, "esModuleInterop": true, "isolatedModules": true,
  "declaration": true, "removeComments": true, "emitDecoratorMetadata": true,
  "experimentalDecorators": true, "allowSyntheticDefaultImports": true, "target": "ES2023",
  "types": ["node"], "sourceMap": true, "outDir": "./dist", "rootDir": "./src",
  "incremental": false, "skipLibCheck": true, "strict": true,
  "strictPropertyInitialization": false } }
JSON
cat >nest/tsconfig.commonjs.json <<'JSON'
{ "extends": "./tsconfig.json", "compilerOptions": { "module": "commonjs",
  "moduleResolution": "node10", "resolvePackageJsonExports": false, "ignoreDeprecations": "5.0",
  "outDir": "./dist-commonjs" } }
JSON
for config in tsconfig.json tsconfig.commonjs.json; do
  (cd nest && npx tsc -p "$config")
done
grep -q 'require("idempotent/nestjs")' nest/dist/main.js || fail "nest: not compiled to CommonJS"
node nest/dist/main.js
node nest/dist-commonjs/main.js

# Without the native XXH3 addon installed (an unsupported platform, a bundle, `--omit=optional`
# gone wrong), every entry point still loads and the portable XXH3-128 gives the same digest.
rm -rf node_modules/@node-rs
node smoke.mjs "$expected"
node smoke.cjs "${entries[@]}"
echo "without @node-rs/xxhash: same fingerprints"
echo "smoke-tarball: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB, $(wc -l <<<"$contents") files) works"
