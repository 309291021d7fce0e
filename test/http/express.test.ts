import { runHttpBehaviourSuite } from "./http-behaviour-suite.ts";
import { startExpress } from "./start-servers.ts";
import { valkeyStoreFixture } from "../servers/valkey-store-fixture.ts";

runHttpBehaviourSuite({ name: "express on the memory store", start: startExpress });

const valkey = valkeyStoreFixture("http-express");
runHttpBehaviourSuite({
  name: "express on the Valkey/Redis store",
  start: startExpress,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
