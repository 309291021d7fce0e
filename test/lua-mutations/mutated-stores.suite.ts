// Run by test/lua-mutations.test.ts in a vitest of its own (test/lua-mutations/vitest.config.ts):
// the store conformance suite and the script checks, once on the real scripts ("none") and
// once per mutation, each on a store whose connection swaps in the mutated scripts. The tests
// of one mutation are named "mutation <id> > ...".
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, it } from "vitest";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { toValkeyConnection } from "../../src/stores/valkey/valkey-connection.ts";
import { runStoreConformance } from "../../src/testing/store-conformance.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { scriptChecks } from "../stores/valkey-script-checks.ts";
import { luaMutations, mutatedScripts, mutatingConnection, type LuaMutation } from "./mutations.ts";

// A failing property needs no shrinking here: that it fails is all the parent asks.
fc.configureGlobal({ endOnFailure: true });

let server: ServerProcess;
let raw: Redis;
beforeAll(async () => {
  server = await startServer({ binary: "valkey-server" });
  raw = new Redis(server.port, "127.0.0.1");
});
afterAll(async () => {
  raw.disconnect();
  await server.stop();
});

const only = process.env["LUA_MUTATIONS"]?.split(",");
const selected = luaMutations.filter(
  (mutation) => only === undefined || only.includes(mutation.id),
);

for (const mutation of [undefined, ...selected] as (LuaMutation | undefined)[]) {
  const id = mutation?.id ?? "none";
  const scripts = mutatedScripts(mutation);
  const createStore = () =>
    new ValkeyStore({
      client: mutatingConnection(toValkeyConnection(raw), scripts),
      prefix: `mutation-${id}`,
    });
  describe(`mutation ${id}`, () => {
    runStoreConformance({
      name: "ValkeyStore",
      createStore,
      concurrency: 16,
      propertyRuns: 15,
      // Every mutation's tests share one event loop: leases long enough for its late timers.
      shortTtlMs: 1000,
    });
    describe("script checks", () => {
      for (const check of scriptChecks) {
        it(check.name, () => check.run({ store: createStore(), raw }));
      }
    });
  });
}
