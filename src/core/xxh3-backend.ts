import type { xxh3 as NativeXxh3 } from "@node-rs/xxhash";
import { Fingerprint } from "./fingerprint.ts";
import { xxh3128Hex } from "./xxh3-128.ts";

/** Which XXH3-128 implementation fingerprints use in this process. */
export type Xxh3Backend = "native" | "portable";

interface NodeProcess {
  getBuiltinModule?: (id: string) => unknown;
}

/**
 * The `@node-rs/xxhash` addon's XXH3-128, loaded synchronously when the runtime can load it:
 * Node.js (and runtimes that offer `process.getBuiltinModule` and native addons) on a platform
 * with a prebuilt binary. Never imported statically, so the package loads on runtimes without
 * native addons (Workers, Deno, browsers, bundles) and on platforms without a binary.
 */
function loadNative(): typeof NativeXxh3.xxh128 | undefined {
  try {
    const process = (globalThis as { process?: NodeProcess }).process;
    if (typeof process?.getBuiltinModule !== "function") return undefined;
    const module = process.getBuiltinModule("node:module") as
      typeof import("node:module") | undefined;
    if (module === undefined) return undefined;
    const addon = module.createRequire(import.meta.url)("@node-rs/xxhash") as {
      xxh3: typeof NativeXxh3;
    };
    const xxh128 = addon.xxh3.xxh128;
    // Guard against a broken binding: the empty input's digest is fixed.
    if (xxh128(new Uint8Array(0)) !== 0x99aa06d3014798d86001c324468d497fn) return undefined;
    return xxh128;
  } catch {
    return undefined;
  }
}

const native = loadNative();

/** `native` when the addon loaded, `portable` otherwise (the pure JavaScript XXH3-128). */
export const xxh3Backend: Xxh3Backend = native === undefined ? "portable" : "native";

/** XXH3-128 of `input` as a fingerprint, from the addon when it loaded. */
export const xxh3128: (input: Uint8Array) => Fingerprint =
  native === undefined
    ? (input) => Fingerprint.fromHex(xxh3128Hex(input))
    : (input) => Fingerprint.fromBigInt(native(input));
