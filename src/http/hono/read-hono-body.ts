import type { Context } from "hono";
import { readWebBody } from "../read-web-body.ts";

/**
 * Reads the body of a Hono request, at most `limit` bytes of it, leaving it readable for the
 * route: the bytes, or `undefined` when it is longer or the client went away mid-body.
 *
 * A body whose `Content-Length` is declared within the limit is read once through
 * `c.req.arrayBuffer()`, which Hono keeps for `c.req.json()`, `c.req.text()` and the like, and
 * `c.req.raw` becomes a Request over the same bytes, built only if the route asks for it. The
 * HTTP framing bounds such a body by its declared length, so reading it whole stays bounded.
 * Any other body (chunked, or already read by an earlier middleware) is read from a clone,
 * stopping past the limit.
 *
 * @example
 * ```ts
 * const body = await readHonoBody(c, 1024 * 1024);
 * if (body === undefined) return c.text("too large", 413);
 * ```
 */
export async function readHonoBody(c: Context, limit: number): Promise<Uint8Array | undefined> {
  const raw = c.req.raw;
  const declared = c.req.header("content-length");
  const method = raw.method;
  if (
    declared === undefined ||
    !/^\d+$/.test(declared) ||
    Number(declared) > limit ||
    c.req.header("transfer-encoding") !== undefined ||
    method === "GET" ||
    method === "HEAD" ||
    raw.bodyUsed ||
    hasCachedBody(c)
  ) {
    return readWebBody(raw.clone().body, limit);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await c.req.arrayBuffer());
  } catch {
    // The client went away mid-body: nobody is there to answer, nothing was claimed.
    return undefined;
  }
  let replacement: Request | undefined;
  Object.defineProperty(c.req, "raw", {
    configurable: true,
    enumerable: true,
    get: () =>
      (replacement ??= new Request(raw.url, {
        method,
        headers: raw.headers,
        body: bytes.byteLength === 0 ? null : (bytes as Uint8Array<ArrayBuffer>),
        signal: raw.signal,
      })),
    set: (request: Request) => {
      replacement = request;
    },
  });
  return bytes.byteLength > limit ? undefined : bytes;
}

function hasCachedBody(c: Context): boolean {
  for (const _ in c.req.bodyCache) return true;
  return false;
}
