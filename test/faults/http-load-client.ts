// One client process of the multi-process HTTP scenario: sends every key to every server,
// retrying 409s until each key has its 201. Arguments: key count, server URLs (comma-separated).
// Prints its answer counts, the body of each key's 201 and the keys it got a first run for.
const [keyCount, urls] = process.argv.slice(2) as [string, string];
const servers = urls.split(",");
const counts = { executed: 0, replayed: 0, conflicts: 0, requests: 0 };
const bodies: Record<string, string> = {};
const executedKeys: string[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < Number(keyCount)) {
      const key = `load-${next++}`;
      for (let attempt = 0; ; attempt++) {
        const server = servers[(attempt + next) % servers.length] as string;
        counts.requests++;
        const response = await fetch(`${server}/orders`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": key,
            "x-api-key": "load",
          },
          body: JSON.stringify({ key }),
        });
        const body = await response.text();
        if (response.status === 201) {
          if (response.headers.get("idempotent-replayed") === "true") counts.replayed++;
          else {
            counts.executed++;
            executedKeys.push(key);
          }
          bodies[key] = body;
          break;
        }
        if (response.status !== 409) throw new Error(`unexpected ${response.status}`);
        counts.conflicts++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }),
);
process.stdout.write(JSON.stringify({ counts, bodies, executedKeys }));
