/**
 * Reads a fetch body stream up to `limit` bytes: the bytes, or `undefined` as soon as it is
 * longer (the rest is not read). A stream that fails counts as unreadable: `undefined` too.
 *
 * @example
 * ```ts
 * const body = await readWebBody(request.clone().body, 1024 * 1024);
 * if (body === undefined) return new Response(null, { status: 413 });
 * ```
 */
export async function readWebBody(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        void reader.cancel().catch(() => undefined);
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    // The client went away mid-body: nobody is there to answer, nothing was claimed.
    return undefined;
  }
  return concat(chunks, size);
}

/**
 * Joins chunks into one array of `size` bytes.
 *
 * @example
 * ```ts
 * concat([new Uint8Array([1]), new Uint8Array([2])], 2); // Uint8Array [1, 2]
 * ```
 */
export function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
