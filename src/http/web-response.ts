import type { CachedResponse, HeaderPairs } from "../core/cached-response.ts";

/**
 * Headers for a `Response` init: a plain record when every name occurs once and a content type
 * is among them, which a runtime takes as is (`@hono/node-server` hands it straight to
 * `writeHead`); a `Headers` built by appending when a name repeats (`set-cookie`, say), so
 * that no value is lost, or when there is no content type.
 *
 * @example
 * ```ts
 * responseHeaders([["content-type", "text/plain"]]); // { "content-type": "text/plain" }
 * ```
 */
export function responseHeaders(pairs: HeaderPairs): Record<string, string> | Headers {
  const record: Record<string, string> = Object.create(null) as Record<string, string>;
  let typed = false;
  for (const [name, value] of pairs) {
    const lower = name.toLowerCase();
    if (lower in record) return headersOf(pairs);
    if (lower === "content-type") typed = true;
    record[lower] = value;
  }
  // Untyped, as a Headers object: the runtime then types the body as it typed the original's
  // (`@hono/node-server` adds its default content type only to a Headers object).
  return typed ? record : headersOf(pairs);
}

function headersOf(pairs: HeaderPairs): Headers {
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
}

/**
 * A fetch `Response` with the status, headers and body given: no body at all for an empty one
 * or a status that has none (a runtime may type an empty body as text/plain).
 *
 * @example
 * ```ts
 * webResponse(201, [["content-type", "application/json"]], new TextEncoder().encode("{}"));
 * ```
 */
export function webResponse(status: number, headers: HeaderPairs, body: Uint8Array): Response {
  const nullBody = status === 204 || status === 205 || status === 304 || body.byteLength === 0;
  return new Response(nullBody ? null : (body as Uint8Array<ArrayBuffer>), {
    status,
    headers: responseHeaders(headers),
  });
}

/**
 * A replay or a problem as a fetch `Response`, like `CachedResponse.toResponse()` but with its
 * headers as a plain record where it can (see {@link responseHeaders}). The body is a copy, so
 * nothing the receiver does with it reaches the stored response.
 *
 * @example
 * ```ts
 * if (decision.kind === "respond") return cachedToResponse(decision.response);
 * ```
 */
export function cachedToResponse(cached: CachedResponse): Response {
  return webResponse(cached.status, cached.headers, cached.body.slice());
}
