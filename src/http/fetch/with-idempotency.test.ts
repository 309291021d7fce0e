import { runHttpBehaviourSuite } from "../testing/http-behaviour-suite.ts";
import { startFetch } from "../testing/start-servers.ts";
import { valkeyStoreFixture } from "../../../test/servers/valkey-store-fixture.ts";

runHttpBehaviourSuite({ name: "fetch on the memory store", start: startFetch });

const valkey = valkeyStoreFixture("http-fetch");
runHttpBehaviourSuite({
  name: "fetch on the Valkey/Redis store",
  start: startFetch,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
