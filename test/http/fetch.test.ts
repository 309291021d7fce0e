import { runHttpBehaviourSuite } from "./http-behaviour-suite.ts";
import { startFetch } from "./start-servers.ts";
import { valkeyStoreFixture } from "../servers/valkey-store-fixture.ts";

runHttpBehaviourSuite({ name: "fetch on the memory store", start: startFetch });

const valkey = valkeyStoreFixture("http-fetch");
runHttpBehaviourSuite({
  name: "fetch on the Valkey/Redis store",
  start: startFetch,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
