// The HTTP benchmark's load generator, in a process of its own so that it does not share the
// server's event loop: runs autocannon against a URL and prints its result as JSON.
// Run by bench/http.ts: tsx bench/http-load.ts <url> <bare|fresh|replay> <seconds>
import autocannon from "autocannon";

const [url, mode, seconds] = process.argv.slice(2);
let counter = 0;
const result = await autocannon({
  url: `${url}/orders`,
  connections: 32,
  duration: Number(seconds),
  requests: [
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"sku":42}',
      setupRequest: (request) => {
        if (mode === "bare") return request;
        const key = mode === "replay" ? "replayed-key" : `key-${process.pid}-${++counter}`;
        return { ...request, headers: { ...request.headers, "idempotency-key": key } };
      },
    },
  ],
});
process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    average: result.requests.average,
    non2xx: result.non2xx,
  }),
);
