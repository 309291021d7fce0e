/** A path and query made only of characters URL serialization leaves as they are. */
const plainPath = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@/%?]*$/;
/** Dot segments (`/./`, `/../`, `%2e`) that URL serialization resolves. */
const dotSegment = /\/\.|%2e/i;

/**
 * The path and query of a request's URL, exactly as `url.pathname + url.search` gives them;
 * without parsing the URL when it is a plain http(s) one, whose path and query start at the
 * first `/` after the host and that serialization would leave unchanged.
 *
 * @example
 * ```ts
 * requestPath("http://127.0.0.1:3000/orders?dry=1"); // "/orders?dry=1"
 * ```
 */
export function requestPath(url: string): string {
  const hostStart = url.startsWith("http://") ? 7 : url.startsWith("https://") ? 8 : -1;
  const start = hostStart === -1 ? -1 : url.indexOf("/", hostStart);
  if (start !== -1) {
    const path = url.slice(start);
    const query = path.indexOf("?");
    // `?` and `@` before the path's `/` mean the host part is not a plain host.
    if (
      plainPath.test(path) &&
      !dotSegment.test(query === -1 ? path : path.slice(0, query)) &&
      !/[?@]/.test(url.slice(hostStart, start))
    ) {
      // An empty query ("/orders?") has no `search`, as with URL.
      return query === path.length - 1 ? path.slice(0, -1) : path;
    }
  }
  const parsed = new URL(url);
  return parsed.pathname + parsed.search;
}
