import type { Context } from "hono";
import type { CachedResponseParts } from "../../core/cached-response.ts";

const encoder = new TextEncoder();

/** The bytes each Response built by a context's helpers was given, by Response. */
const sources = new WeakMap<Response, Uint8Array>();

/** The bytes of a body handed to a helper, when they are known without reading a stream. */
function bytesOf(data: unknown): Uint8Array | undefined {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (data === null || data === undefined) return new Uint8Array(0);
  return undefined; // a stream, a Blob, form data: read from the Response instead
}

function remember(response: unknown, data: unknown): void {
  if (!(response instanceof Response)) return; // a Promise (async html): read it instead
  const bytes = bytesOf(data);
  if (bytes !== undefined) sources.set(response, bytes);
}

/**
 * Makes the context's response helpers (`c.body`, `c.text`, `c.json`, `c.html`,
 * `c.newResponse`) remember the body they are handed, so that the response a route builds with
 * them is captured from those bytes rather than read back from its stream.
 *
 * @example
 * ```ts
 * rememberResponseBodies(c);
 * await next();
 * const captured = capturedFromSource(c.res); // undefined: read the body instead
 * ```
 */
export function rememberResponseBodies(c: Context): void {
  for (const name of ["body", "newResponse", "text", "html"] as const) {
    const helper = c[name] as (...args: unknown[]) => unknown;
    (c as unknown as Record<string, unknown>)[name] = (data: unknown, ...rest: unknown[]) => {
      const response = helper(data, ...rest);
      remember(response, data); // html's escaped-string objects and promises are read instead
      return response;
    };
  }
  // `c.json(object, arg, headers)` is Hono's `c.body(JSON.stringify(object), arg, headers)`
  // with a default JSON content type: built that way, the serialized text is the one sent.
  const withBody = c.body as (...args: unknown[]) => Response;
  c.json = ((object: unknown, arg?: unknown, headers?: Record<string, string | string[]>) =>
    withBody(JSON.stringify(object), arg, {
      "Content-Type": "application/json",
      ...headers,
    })) as unknown as typeof c.json;
}

/**
 * The response's status, headers and body, when the body is the one a helper was handed (see
 * {@link rememberResponseBodies}); `undefined` for any other response.
 *
 * @example
 * ```ts
 * const captured = capturedFromSource(c.res);
 * if (captured !== undefined) await exchange.complete(captured);
 * ```
 */
export function capturedFromSource(response: Response): CachedResponseParts | undefined {
  const body = sources.get(response);
  if (body === undefined) return undefined;
  const { status } = response;
  // A body on a status that has none is not sent as given: read the Response instead.
  if (body.byteLength > 0 && (status === 204 || status === 205 || status === 304)) return undefined;
  const headers: [string, string][] = [];
  for (const [name, value] of response.headers) headers.push([name, value]);
  return { status, headers, body };
}
