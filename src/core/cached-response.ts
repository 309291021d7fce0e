import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";

/**
 * Response headers as ordered name/value pairs; a name may repeat.
 *
 * @example
 * ```ts
 * const headers: HeaderPairs = [["content-type", "application/json"], ["vary", "accept"]];
 * ```
 */
export type HeaderPairs = readonly (readonly [name: string, value: string])[];

/**
 * A value that `JSON.stringify` turns into the same value back.
 *
 * @example
 * ```ts
 * const body: JsonValue = { id: 42, items: ["a", "b"], paid: true };
 * ```
 */
export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * Status and headers for {@link CachedResponse.from}.
 *
 * @example
 * ```ts
 * CachedResponse.from({ id: 42 }, { status: 201, headers: { location: "/orders/42" } });
 * ```
 */
export interface CachedResponseInit {
  /** HTTP-style status, 200-599; 200 by default (204 for an empty value). */
  readonly status?: number;
  /** Headers as pairs or as a record; they override the default `content-type`. */
  readonly headers?: HeaderPairs | Readonly<Record<string, string | readonly string[]>>;
}

/** Everything a {@link CachedResponse} holds. */
export interface CachedResponseParts {
  readonly status: number;
  readonly headers: HeaderPairs;
  readonly body: Uint8Array;
}

/** The JSON form of a {@link CachedResponse}; the body is base64. */
export interface CachedResponseJson {
  readonly status: number;
  readonly headers: [string, string][];
  readonly body: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });
/** Parts the class built from checked ones, taken by the constructor as they are. */
let trusted: CachedResponseParts | undefined;
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const headerValuePattern = /^[^\r\n\0]*$/;

function validateStatus(status: unknown, fail: (message: string) => Error): number {
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) {
    throw fail(`expected an integer from 200 to 599, got ${String(status)}`);
  }
  return status;
}

function validateHeaders(headers: unknown, fail: (message: string) => Error): HeaderPairs {
  if (!Array.isArray(headers)) throw fail("expected an array of [name, value] pairs");
  const pairs: [string, string][] = [];
  for (const pair of headers as unknown[]) {
    if (!Array.isArray(pair) || pair.length !== 2) throw fail("expected [name, value] pairs");
    const [name, value] = pair as unknown[];
    if (typeof name !== "string" || !headerNamePattern.test(name)) {
      // Not JSON.stringify on any value: a bigint would throw a TypeError instead.
      throw fail(
        `invalid header name ${typeof name === "string" ? JSON.stringify(name) : typeof name}`,
      );
    }
    if (typeof value !== "string" || !headerValuePattern.test(value)) {
      throw fail(`invalid value for header ${name}`);
    }
    pairs.push([name, value]);
  }
  return pairs;
}

// Built once: a function made per call would be named per call under tsx (esbuild keepNames).
const badStatus = (message: string): Error => new InvalidArgumentError("status", message);
const badHeaders = (message: string): Error => new InvalidArgumentError("headers", message);

function malformed(path: string, field: string): (message: string) => Error {
  return (message) => new MalformedRecordError(`${path}.${field}`, message);
}

function toPairs(headers: CachedResponseInit["headers"]): unknown[] {
  if (headers === undefined) return [];
  if (Array.isArray(headers)) return headers as unknown[];
  const pairs: [string, unknown][] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const item of value) pairs.push([name, item]);
    else pairs.push([name, value]);
  }
  return pairs;
}

/** For callers the compiler cannot check (plain JavaScript, casts). */
function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null;
}

function isResponse(value: unknown): value is Response {
  return typeof Response === "function" && value instanceof Response;
}

/**
 * The response of a completed operation, replayed to every retry: a status, headers and a
 * body kept as raw bytes, so binary bodies replay byte for byte.
 *
 * @example
 * ```ts
 * const json = CachedResponse.from({ id: 42 }, { status: 201 }); // application/json
 * const text = CachedResponse.from("done"); // text/plain; charset=utf-8
 * const bytes = CachedResponse.from(new Uint8Array([0, 255])); // application/octet-stream
 * const fetched = await CachedResponse.from(await fetch(url)); // a fetch Response, read fully
 * json.status; // 201
 * json.json(); // { id: 42 }
 * ```
 */
export class CachedResponse {
  /** HTTP-style status, 200-599. */
  readonly status: number;
  /** Ordered header pairs. */
  readonly headers: HeaderPairs;
  /** The body bytes. */
  readonly body: Uint8Array;

  /**
   * @throws {@link idempotent!InvalidArgumentError} when `parts` is not an object (argument `parts`), on a
   *   status outside 200-599 (`status`), an invalid header (`headers`) or a body that is not a
   *   `Uint8Array` (`body`).
   */
  constructor(parts: CachedResponseParts) {
    if (trusted !== undefined && parts === trusted) {
      // Built by this class from parts it already checked.
      trusted = undefined;
      this.status = parts.status;
      this.headers = parts.headers;
      this.body = parts.body;
      return;
    }
    if (!isObject(parts)) {
      throw new InvalidArgumentError("parts", "expected { status, headers, body }");
    }
    this.status = validateStatus(parts.status, badStatus);
    this.headers = validateHeaders(parts.headers, badHeaders);
    if (!(parts.body instanceof Uint8Array)) {
      throw new InvalidArgumentError("body", "expected a Uint8Array");
    }
    this.body = parts.body;
  }

  /** Reads a fetch `Response` fully (status, headers, body bytes). */
  static from(response: Response): Promise<CachedResponse>;
  /**
   * A response from a value: a string (text/plain), bytes (application/octet-stream, copied),
   * `undefined` (an empty 204), another CachedResponse (itself), or any other JSON value
   * (application/json).
   * @throws {@link idempotent!InvalidArgumentError} when `value` is not one of these (argument `value`,
   *   e.g. a circular object), `init` is not an object (`init`), or the status or a header is
   *   invalid (`status`, `headers`).
   */
  static from(
    value: string | Uint8Array | JsonValue | CachedResponse | undefined,
    init?: CachedResponseInit,
  ): CachedResponse;
  static from(
    value: string | Uint8Array | JsonValue | CachedResponse | Response | undefined,
    init: CachedResponseInit = {},
  ): CachedResponse | Promise<CachedResponse> {
    if (value instanceof CachedResponse) return value;
    if (isResponse(value)) return CachedResponse.fromResponse(value);
    if (!isObject(init)) {
      throw new InvalidArgumentError("init", "expected { status, headers }");
    }
    let body: Uint8Array;
    let contentType: string | undefined;
    let status = 200;
    if (value === undefined) {
      body = new Uint8Array(0);
      status = 204;
    } else if (typeof value === "string") {
      body = encoder.encode(value);
      contentType = "text/plain; charset=utf-8";
    } else if (value instanceof Uint8Array) {
      body = value.slice();
      contentType = "application/octet-stream";
    } else {
      // Typed unknown: JSON.stringify gives undefined for a function or a symbol.
      let text: unknown;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        // A circular object or a bigint: the caller's value, not a failure of this library.
        throw new InvalidArgumentError("value", "not a JSON value", { cause: error });
      }
      if (typeof text !== "string") throw new InvalidArgumentError("value", "not a JSON value");
      body = encoder.encode(text);
      contentType = "application/json";
    }
    const headers = toPairs(init.headers);
    const hasContentType = headers.some(
      (pair) => Array.isArray(pair) && String(pair[0]).toLowerCase() === "content-type",
    );
    if (contentType !== undefined && !hasContentType)
      headers.unshift(["content-type", contentType]);
    return new CachedResponse({
      status: init.status ?? status,
      headers: headers as unknown as HeaderPairs,
      body,
    });
  }

  private static async fromResponse(response: Response): Promise<CachedResponse> {
    const body = new Uint8Array(await response.arrayBuffer());
    const headers: [string, string][] = [];
    // Iteration yields each set-cookie header separately, the others combined.
    for (const [name, value] of response.headers) headers.push([name, value]);
    return new CachedResponse({ status: response.status, headers, body });
  }

  /**
   * Parses the JSON form.
   * @throws {@link MalformedRecordError} when it does not describe a response.
   */
  static fromJSON(json: unknown, path = "response"): CachedResponse {
    if (typeof json !== "object" || json === null) {
      throw new MalformedRecordError(path, "expected an object");
    }
    const record = json as Record<string, unknown>;
    const status = validateStatus(record["status"], malformed(path, "status"));
    const headers = validateHeaders(record["headers"], malformed(path, "headers"));
    const body = record["body"];
    if (typeof body !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
      throw new MalformedRecordError(`${path}.body`, "expected base64");
    }
    return new CachedResponse({
      status,
      headers,
      body: new Uint8Array(Buffer.from(body, "base64")),
    });
  }

  /**
   * A copy with one more header after the others, sharing the body; only the new header is
   * checked (the others were when this response was built).
   * @throws {@link idempotent!InvalidArgumentError} on an invalid header name or value
   *   (argument `headers`).
   *
   * @example
   * ```ts
   * const replayed = cached.withHeader("idempotent-replayed", "true");
   * ```
   */
  withHeader(name: string, value: string): CachedResponse {
    const [header] = validateHeaders([[name, value]], badHeaders);
    const parts: CachedResponseParts = {
      status: this.status,
      headers: [...this.headers, header as HeaderPairs[number]],
      body: this.body,
    };
    trusted = parts;
    return new CachedResponse(parts);
  }

  /** The first value of a header, by case-insensitive name. */
  header(name: string): string | undefined {
    const wanted = name.toLowerCase();
    return this.headers.find(([headerName]) => headerName.toLowerCase() === wanted)?.[1];
  }

  /** The body decoded as UTF-8. */
  text(): string {
    return decoder.decode(this.body);
  }

  /** The body parsed as JSON. */
  json(): unknown {
    return JSON.parse(this.text());
  }

  /** A fetch `Response` with the same status, headers and body. */
  toResponse(): Response {
    // No body rather than an empty one: a runtime may type an empty body (text/plain).
    const nullBody =
      this.status === 204 ||
      this.status === 205 ||
      this.status === 304 ||
      this.body.byteLength === 0;
    const headers = new Headers();
    for (const [name, value] of this.headers) headers.append(name, value);
    return new Response(nullBody ? null : this.body.slice(), { status: this.status, headers });
  }

  /** The JSON form: `{ status, headers, body }` with a base64 body. */
  toJSON(): CachedResponseJson {
    return {
      status: this.status,
      headers: this.headers.map(([name, value]) => [name, value]),
      body: Buffer.from(this.body.buffer, this.body.byteOffset, this.body.byteLength).toString(
        "base64",
      ),
    };
  }
}
