import { runHttpBehaviourSuite } from "./http-behaviour-suite.ts";
import { startNestExpress, startNestFastify } from "./nest-servers.ts";
import { valkeyStoreFixture } from "../servers/valkey-store-fixture.ts";

runHttpBehaviourSuite({ name: "nest (express) on the memory store", start: startNestExpress });
runHttpBehaviourSuite({ name: "nest (fastify) on the memory store", start: startNestFastify });

const valkey = valkeyStoreFixture("http-nestjs");
runHttpBehaviourSuite({
  name: "nest (express) on the Valkey/Redis store",
  start: startNestExpress,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
runHttpBehaviourSuite({
  name: "nest (fastify) on the Valkey/Redis store",
  start: startNestFastify,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
