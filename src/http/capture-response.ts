import type { CachedResponseParts } from "../core/cached-response.ts";
import { concat } from "./read-web-body.ts";
import { webResponse } from "./web-response.ts";

/** A fetch Response to send, and its captured copy when it fit the limit. */
export interface CapturedResponse {
  readonly response: Response;
  readonly captured: CachedResponseParts | undefined;
}

/**
 * Reads a fetch `Response` body up to `limit` bytes. Within the limit the body is captured and
 * a fresh Response is returned; past it, the Response streams what was read and the rest, and
 * nothing is captured (the response is served, not cached). Rejects when the body stream fails.
 *
 * @example
 * ```ts
 * const { response, captured } = await captureResponse(await handler(request), 1024 * 1024);
 * if (captured !== undefined) await exchange.complete(captured);
 * return response;
 * ```
 */
export async function captureResponse(
  response: Response,
  limit: number,
): Promise<CapturedResponse> {
  const headers: [string, string][] = [];
  for (const [name, value] of response.headers) headers.push([name, value]);
  if (response.body === null) {
    return {
      response,
      captured: { status: response.status, headers, body: new Uint8Array(0) },
    };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
        },
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return {
        response: new Response(stream, { status: response.status, headers: response.headers }),
        captured: undefined,
      };
    }
  }
  const body = concat(chunks, size);
  // The body is whole now: the framing headers of the streamed original no longer apply.
  const sent = headers.filter(
    ([name]) => name !== "transfer-encoding" && name !== "content-length",
  );
  return {
    response: webResponse(response.status, sent, body),
    captured: { status: response.status, headers, body },
  };
}
