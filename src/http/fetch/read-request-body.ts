import { readWebBody } from "../read-web-body.ts";

/** A request's body as read by {@link readRequestBody}, and the request the handler gets. */
export interface RequestBodyRead {
  /** The bytes, or `undefined` when the body is longer than the limit or failed mid-way. */
  readonly body: Uint8Array | undefined;
  /**
   * The request to hand the handler: the one given when its body was read from a clone, else
   * a copy of it (URL, method, headers, signal) over the bytes read.
   */
  readonly request: () => Request;
}

/**
 * Whether the body can be read from the request itself and the handler given a copy: a plain
 * `Request` (not a subclass such as Next.js's `NextRequest`, whose extra members a copy would
 * lack) without properties of its own that a framework set on it (a router's `params`), whose
 * method may carry a body and whose body nobody read.
 */
function readableInPlace(request: Request): boolean {
  const method = request.method;
  return (
    request.constructor === Request &&
    Object.keys(request).length === 0 &&
    method !== "GET" &&
    method !== "HEAD" &&
    !request.bodyUsed
  );
}

/**
 * What a server's handler sees of a request, over `body`: its method, headers, client signal,
 * and Cloudflare's `cf` where there is one. Built from these rather than from the request
 * itself, which on Node.js (`@hono/node-server`) would first build the full request whose body
 * was just read.
 */
function copyInit(request: Request, body: Uint8Array): RequestInit {
  const init: RequestInit & { cf?: unknown } = {
    method: request.method,
    headers: request.headers,
    body: body as Uint8Array<ArrayBuffer>,
    signal: request.signal,
  };
  if ("cf" in request) init.cf = (request as Request & { cf?: unknown }).cf;
  return init;
}

/**
 * Reads a fetch request's body, at most `limit` bytes of it, leaving a request whose body the
 * handler reads as sent. A plain `Request` has its body read once, in place (a body whose
 * `Content-Length` is declared within the limit whole, since the server that received it holds
 * it to that length; any other stopping past the limit), and the handler, if it runs, gets a
 * copy over those bytes, built only then. Any other request (a subclass, one carrying a framework's own
 * properties) is read from a clone, and the handler gets it untouched.
 *
 * @example
 * ```ts
 * const read = await readRequestBody(request, 1024 * 1024);
 * if (read.body === undefined) return new Response(null, { status: 413 });
 * return handler(read.request());
 * ```
 */
export async function readRequestBody(request: Request, limit: number): Promise<RequestBodyRead> {
  if (!readableInPlace(request)) {
    return { body: await readWebBody(request.clone().body, limit), request: () => request };
  }
  const declared = request.headers.get("content-length");
  let body: Uint8Array | undefined;
  if (
    declared !== null &&
    /^\d+$/.test(declared) &&
    Number(declared) <= limit &&
    !request.headers.has("transfer-encoding")
  ) {
    // Whole, at once: the server that received it holds a body to its declared length, and
    // `arrayBuffer()` is a server's fast path (@hono/node-server reads the socket directly
    // where `body` would build a stream). A Request built in-process with a stream longer
    // than its Content-Length is read whole: no client can send one.
    try {
      body = new Uint8Array(await request.arrayBuffer());
    } catch {
      // The client went away mid-body: nobody is there to answer, nothing was claimed.
      body = undefined;
    }
  } else {
    const stream = request.body;
    // No body at all: nothing is read, the handler gets the request itself.
    if (stream === null) return { body: new Uint8Array(0), request: () => request };
    body = await readWebBody(stream, limit);
  }
  const bytes = body ?? new Uint8Array(0);
  let copy: Request | undefined;
  return {
    body: body !== undefined && body.byteLength > limit ? undefined : body,
    request: () => (copy ??= new Request(request.url, copyInit(request, bytes))),
  };
}
