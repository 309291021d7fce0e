import { runHttpBehaviourSuite } from "./http-behaviour-suite.ts";
import { startHono } from "./start-servers.ts";
import { valkeyStoreFixture } from "../servers/valkey-store-fixture.ts";

runHttpBehaviourSuite({ name: "hono on the memory store", start: startHono });

const valkey = valkeyStoreFixture("http-hono");
runHttpBehaviourSuite({
  name: "hono on the Valkey/Redis store",
  start: startHono,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
