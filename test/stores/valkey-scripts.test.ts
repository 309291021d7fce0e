import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, it } from "vitest";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { connect, type ConnectedClient } from "../servers/clients.ts";
import { startServer, serverBinaries, type ServerProcess } from "../servers/redis-server.ts";
import { scriptChecks, type ScriptCheckContext } from "./valkey-script-checks.ts";

for (const binary of serverBinaries) {
  describe(`ValkeyStore scripts on ${binary}`, () => {
    let server: ServerProcess;
    let raw: Redis;
    let connected: ConnectedClient;
    let context: ScriptCheckContext;

    beforeAll(async () => {
      server = await startServer({ binary });
      raw = new Redis(server.port, "127.0.0.1");
      connected = await connect("ioredis", server.port);
      context = { store: new ValkeyStore({ client: connected.client, prefix: "scripts" }), raw };
    });
    afterAll(async () => {
      raw.disconnect();
      await connected.close();
      await server.stop();
    });

    for (const check of scriptChecks) {
      it(check.name, () => check.run(context));
    }
  });
}
