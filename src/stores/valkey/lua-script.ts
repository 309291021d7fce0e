import { createHash } from "node:crypto";

/**
 * A Lua script and its SHA-1 digest, computed locally so the first call can already be an
 * EVALSHA; EVAL is the fallback when the server's script cache does not hold it.
 *
 * @example
 * ```ts
 * const ping = new LuaScript("ping", "return 'pong'");
 * await client.evalsha(ping.sha, key, []); // falls back to client.eval(ping.source, ...) on NOSCRIPT
 * ```
 */
export class LuaScript {
  /** A name for messages, e.g. `claim`. */
  readonly name: string;
  /** The Lua source. */
  readonly source: string;
  /** SHA-1 of the source, as EVALSHA expects it (40 lowercase hex digits). */
  readonly sha: string;

  constructor(name: string, source: string) {
    this.name = name;
    this.source = source;
    this.sha = createHash("sha1").update(source).digest("hex");
  }
}
