import type { ServerResponse } from "node:http";
import { headerPairsOf } from "./header-pairs.ts";
import type { HttpExchange } from "./http-exchange.ts";

/** Headers given to `writeHead`, which `getHeaders()` does not show, set the usual way. */
function setWriteHeadHeaders(response: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    // A raw list: name, value, name, value...
    for (let index = 0; index + 1 < headers.length; index += 2) {
      response.appendHeader(String(headers[index]), String(headers[index + 1]));
    }
  } else if (typeof headers === "object" && headers !== null) {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) response.setHeader(name, value as string | string[]);
    }
  }
}

/**
 * Captures what the handler writes, and stores the completion before the response's last
 * byte leaves, so a client that got the response can count on its retry being a replay.
 * The handler's outcome settles the claim, even when its client is gone; an answer torn down
 * mid-way (a piped stream whose client left, a failure after the first bytes) abandons it.
 * `answeredByHandler` tells, when the answer ends, whether it is the handler's; when it is
 * not (an outer timeout answered while the handler runs), the claim is abandoned. Shared by the adapters that answer through Node.js's
 * `ServerResponse` (Express, NestJS).
 *
 * @example
 * ```ts
 * if (decision.kind === "run") completeOnEnd(response, decision.exchange, http.policy.maxResponseBytes);
 * ```
 */
export function completeOnEnd(
  response: ServerResponse,
  exchange: HttpExchange,
  limit: number,
  answeredByHandler: () => boolean = () => true,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  const capture = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === "function") return;
    if (size > limit) return;
    const buffer =
      typeof chunk === "string"
        ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
        : Buffer.from(chunk as Uint8Array);
    size += buffer.byteLength;
    chunks.push(buffer);
  };
  const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse;
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  response.writeHead = (status: number, ...rest: unknown[]) => {
    const headers = rest.length > 0 && typeof rest[0] !== "string" ? rest[0] : rest[1];
    setWriteHeadHeaders(response, headers);
    return typeof rest[0] === "string" ? writeHead(status, rest[0]) : writeHead(status);
  };
  response.write = ((...args: unknown[]) => {
    capture(args[0], args[1]);
    return write(...args);
  }) as typeof response.write;
  response.end = ((...args: unknown[]) => {
    ended = true;
    if (!answeredByHandler()) {
      // Answered by someone else while the handler still runs (a timeout): that answer says
      // nothing of the handler's outcome, so it neither completes nor releases the claim.
      exchange.abandon();
      return end(...args);
    }
    capture(args[0], args[1]);
    const captured =
      size > limit
        ? undefined
        : {
            status: response.statusCode,
            headers: headerPairsOf(response.getHeaders()),
            body: Buffer.concat(chunks, size),
          };
    void exchange.complete(captured).finally(() => end(...args));
    return response;
  }) as typeof response.end;
  response.once("close", () => {
    // Closed before the handler ended its answer. Not started: the handler is still at work
    // and its response will be stored. Started: the answer was torn down and will not end.
    if (!ended && response.headersSent) exchange.abandon();
  });
}
