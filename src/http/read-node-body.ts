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
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: { bytes: Buffer; restored: boolean } | undefined) => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("close", onClose);
      stream.off("error", onClose);
      resolve(result);
    };
    const onReadable = () => {
      for (
        let chunk = stream.read() as Buffer | null;
        chunk !== null;
        chunk = stream.read() as Buffer | null
      ) {
        size += chunk.byteLength;
        if (size > limit) {
          finish(undefined);
          return;
        }
        chunks.push(chunk);
      }
      if (stream.complete === true) {
        // Everything arrived and was read, and "end" is not emitted yet: putting the bytes back
        // now keeps the stream readable from the start.
        const bytes = Buffer.concat(chunks, size);
        if (size > 0) stream.unshift(bytes);
        finish({ bytes, restored: size > 0 });
      }
    };
    const onEnd = () => {
      finish({ bytes: Buffer.concat(chunks, size), restored: false });
    };
    // The client went away mid-body: nobody is there to answer, nothing was claimed.
    const onClose = () => {
      finish(undefined);
    };
    stream.on("readable", onReadable);
    stream.on("end", onEnd);
    stream.on("close", onClose);
    stream.on("error", onClose);
  });
}
