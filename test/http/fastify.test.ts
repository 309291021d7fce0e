import { runHttpBehaviourSuite } from "./http-behaviour-suite.ts";
import { startFastify } from "./start-servers.ts";
import { valkeyStoreFixture } from "../servers/valkey-store-fixture.ts";

runHttpBehaviourSuite({ name: "fastify on the memory store", start: startFastify });

const valkey = valkeyStoreFixture("http-fastify");
runHttpBehaviourSuite({
  name: "fastify on the Valkey/Redis store",
  start: startFastify,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
