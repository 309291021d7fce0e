import { afterAll, beforeAll, describe } from "vitest";
import { runStoreConformance } from "../../src/testing/store-conformance.ts";
import { runTransactionalStoreConformance } from "../../src/testing/transactional-store-conformance.ts";
import {
  connectPostgres,
  postgresFamilies,
  type ConnectedPostgres,
} from "../servers/postgres-clients.ts";
import { startPostgres, type PostgresServer } from "../servers/postgres-server.ts";
import { migrate } from "../../src/stores/postgres/migrate.ts";
import { PostgresStore } from "../../src/stores/postgres/postgres-store.ts";
import { toSqlExecutor, type PostgresClient } from "../../src/stores/postgres/sql-executor.ts";

// One real server for the file; the store contract and the transactional contract through
// every client family.
let server: PostgresServer;
const connections: ConnectedPostgres[] = [];
beforeAll(async () => {
  server = await startPostgres();
  const admin = await connectPostgres("pg", server.url, 2);
  await migrate(admin.client);
  await admin.query("CREATE TABLE effects (key text NOT NULL, token text NOT NULL)");
  await admin.close();
  for (const family of postgresFamilies)
    connections.push(await connectPostgres(family, server.url));
}, 120_000);
afterAll(async () => {
  for (const connection of connections) await connection.close();
  await server.stop();
});

postgresFamilies.forEach((family, index) => {
  const connection = () => connections[index] as ConnectedPostgres;
  describe(family, () => {
    runStoreConformance({
      name: `PostgresStore via ${family}`,
      createStore: () => new PostgresStore({ client: connection().client, prefix: `c-${index}` }),
      disposeStore: (store) => {
        store.close();
      },
      propertyRuns: 15,
      // Longer than the suites' 300 ms: the chaos test loads the same two cores meanwhile.
      shortTtlMs: 600,
    });
    runTransactionalStoreConformance<PostgresClient, PostgresStore>({
      name: `PostgresStore via ${family}`,
      createStore: () => new PostgresStore({ client: connection().client, prefix: `t-${index}` }),
      disposeStore: (store) => {
        store.close();
      },
      shortTtlMs: 600,
      transaction: (work, isolation) => connection().transaction(work, isolation),
      insertBusinessRow: async (tx, key, token) => {
        await toSqlExecutor(tx).query("INSERT INTO effects (key, token) VALUES ($1, $2)", [
          key,
          token,
        ]);
      },
      businessRows: async (key) =>
        (await connection().query("SELECT token FROM effects WHERE key = $1", [key])).map((row) =>
          String(row["token"]),
        ),
    });
  });
});
