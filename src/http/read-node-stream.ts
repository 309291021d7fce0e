import { Readable } from "node:stream";

/** A Node stream read up to a limit. */
export type CapturedStream =
  | { readonly kind: "whole"; readonly body: Buffer }
  | { readonly kind: "too-large"; readonly stream: Readable };

/**
 * Reads a Node stream (a streamed response) up to `limit` bytes. Within the limit it gives the
 * whole body; past it, a stream that yields what was read and then the rest, unbuffered.
 *
 * @example
 * ```ts
 * const captured = await captureNodeStream(payload, 1024 * 1024);
 * if (captured.kind === "whole") cache(captured.body);
 * ```
 */
export async function captureNodeStream(stream: Readable, limit: number): Promise<CapturedStream> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return { kind: "whole", body: Buffer.concat(chunks, size) };
    const chunk = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > limit) {
      const rest = { [Symbol.asyncIterator]: () => iterator };
      return {
        kind: "too-large",
        stream: Readable.from(
          (async function* () {
            yield* chunks;
            yield* rest;
          })(),
        ),
      };
    }
  }
}
