import { runHttpBehaviourSuite } from "../testing/http-behaviour-suite.ts";
import { startExpress } from "../testing/start-servers.ts";
import { valkeyStoreFixture } from "../../../test/servers/valkey-store-fixture.ts";

runHttpBehaviourSuite({ name: "express on the memory store", start: startExpress });

const valkey = valkeyStoreFixture("http-express");
runHttpBehaviourSuite({
  name: "express on the Valkey/Redis store",
  start: startExpress,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
