import type { Readable } from "node:stream";

/** A Node request stream: an `IncomingMessage`, whose `complete` says all of it arrived. */
export type NodeBodyStream = Readable & { readonly complete?: boolean };

/**
 * Reads a Node request body up to `limit` bytes and puts it back, so whoever reads the stream
 * next (a body parser mounted later) gets the whole body, as if nothing had read it. Resolves
 * with the bytes, or `undefined` when the body is longer than `limit` (reading stops there) or
 * the client went away mid-body. `restored` is false when the stream ended before the bytes
 * could be put back (an empty body, or a stream that is not an `IncomingMessage`): hand the
 * next reader a new stream of `bytes` then.
 *
 * @example
 * ```ts
 * const read = await readNodeBody(request, 1024 * 1024);
 * if (read === undefined) return tooLarge();
 * ```
 */
export function readNodeBody(
  stream: NodeBodyStream,
  limit: number,
): Promise<{ readonly bytes: Buffer; readonly restored: boolean } | undefined> {
  return new Promise((resolve) => {
    readNodeBodyThen(stream, limit, resolve);
  });
}

/** What {@link readNodeBody} reads: the bytes, and whether they were put back. */
export interface NodeBodyRead {
  readonly bytes: Buffer;
  readonly restored: boolean;
}

/**
 * {@link readNodeBody} with a callback instead of a promise, for callback-style hooks (Fastify's
 * `preParsing`): one promise and two ticks less per request. `then` is called exactly once.
 *
 * @example
 * ```ts
 * readNodeBodyThen(request, 1024 * 1024, (read) => {
 *   if (read === undefined) tooLarge();
 *   else next(read.bytes);
 * });
 * ```
 */
export function readNodeBodyThen(
  stream: NodeBodyStream,
  limit: number,
  then: (read: NodeBodyRead | undefined) => void,
): void {
  new BodyReader(stream, limit, then).listen();
}

/** One read of one body; its listeners bound once (no named closures per request). */
class BodyReader {
  readonly #stream: NodeBodyStream;
  readonly #limit: number;
  readonly #then: (read: NodeBodyRead | undefined) => void;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  readonly #onReadable = this.#readable.bind(this);
  readonly #onEnd = this.#end.bind(this);
  readonly #onClose = this.#close.bind(this);

  constructor(
    stream: NodeBodyStream,
    limit: number,
    then: (read: NodeBodyRead | undefined) => void,
  ) {
    this.#stream = stream;
    this.#limit = limit;
    this.#then = then;
  }

  listen(): void {
    const stream = this.#stream;
    stream.on("readable", this.#onReadable);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onClose);
    stream.on("error", this.#onClose);
  }

  #finish(result: NodeBodyRead | undefined): void {
    const stream = this.#stream;
    stream.off("readable", this.#onReadable);
    stream.off("end", this.#onEnd);
    stream.off("close", this.#onClose);
    stream.off("error", this.#onClose);
    this.#then(result);
  }

  #readable(): void {
    const stream = this.#stream;
    for (
      let chunk = stream.read() as Buffer | null;
      chunk !== null;
      chunk = stream.read() as Buffer | null
    ) {
      this.#size += chunk.byteLength;
      if (this.#size > this.#limit) {
        this.#finish(undefined);
        return;
      }
      this.#chunks.push(chunk);
    }
    if (stream.complete === true) {
      // Everything arrived and was read, and "end" is not emitted yet: putting the bytes back
      // now keeps the stream readable from the start.
      const bytes = concat(this.#chunks, this.#size);
      if (this.#size > 0) stream.unshift(bytes);
      this.#finish({ bytes, restored: this.#size > 0 });
    }
  }

  #end(): void {
    this.#finish({ bytes: concat(this.#chunks, this.#size), restored: false });
  }

  // The client went away mid-body: nobody is there to answer, nothing was claimed.
  #close(): void {
    this.#finish(undefined);
  }
}

/** The chunks as one Buffer; a single chunk as it is (a body usually arrives in one). */
function concat(chunks: readonly Buffer[], size: number): Buffer {
  return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
}
