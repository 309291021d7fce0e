// Which XXH3-128 the process uses: the addon when it loads and hashes right, else the portable
// JavaScript. The backend is chosen once, at import, so each case imports the module afresh
// (vi.resetModules) with the addon made unloadable or broken through @node-rs/xxhash's own
// switch, NAPI_RS_NATIVE_LIBRARY_PATH, as scripts/test-portable.sh does; nothing is mocked.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { xxh3128Hex } from "../../src/core/xxh3-128.ts";

const require = createRequire(import.meta.url);
const addonPath = require.resolve("@node-rs/xxhash");
// A stand-in for a broken binary: it loads, but every digest is 0.
const scratch = mkdtempSync(join(tmpdir(), "xxh3-backend-"));
const brokenBinding = join(scratch, "broken-binding.cjs");
writeFileSync(brokenBinding, "module.exports = { xxh3: { xxh128: () => 0n } };\n");
const variable = "NAPI_RS_NATIVE_LIBRARY_PATH";
const saved = { env: process.env[variable], addon: require.cache[addonPath] };

function setLibraryPath(path: string | undefined): void {
  if (path === undefined) Reflect.deleteProperty(process.env, variable);
  else process.env[variable] = path;
}

/** xxh3-backend.ts imported afresh, the addon loaded through `libraryPath` (unset: as found). */
async function importBackend(
  libraryPath: string | undefined,
): Promise<typeof import("../../src/core/xxh3-backend.ts")> {
  setLibraryPath(libraryPath);
  // The package reads the variable when it is first required, so it must be required again.
  Reflect.deleteProperty(require.cache, addonPath);
  vi.resetModules();
  return import("../../src/core/xxh3-backend.ts");
}

const inputs = [new Uint8Array(0), new TextEncoder().encode("abc"), new Uint8Array(300).fill(7)];

describe("xxh3-backend", () => {
  afterEach(() => {
    setLibraryPath(saved.env);
    if (saved.addon === undefined) Reflect.deleteProperty(require.cache, addonPath);
    else require.cache[addonPath] = saved.addon;
    vi.resetModules();
  });
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("uses the addon where it loads, with the portable digests", async () => {
    // Under scripts/test-portable.sh the addon cannot load here either.
    const unloadable = saved.env !== undefined;
    const { xxh3Backend, xxh3128 } = await importBackend(saved.env);
    expect(xxh3Backend).toBe(unloadable ? "portable" : "native");
    for (const input of inputs) {
      const fingerprint = xxh3128(input);
      // A Fingerprint of the freshly imported module graph.
      expect(fingerprint.constructor.name).toBe("Fingerprint");
      expect(fingerprint.hex).toBe(xxh3128Hex(input));
    }
    expect(xxh3128(new Uint8Array(0)).hex).toBe("99aa06d3014798d86001c324468d497f");
  });

  it("falls back to the portable XXH3-128 when the addon cannot load", async () => {
    const { xxh3Backend, xxh3128 } = await importBackend("/nonexistent/xxhash.node");
    expect(xxh3Backend).toBe("portable");
    expect(xxh3128(new Uint8Array(0)).hex).toBe("99aa06d3014798d86001c324468d497f");
    for (const input of inputs) expect(xxh3128(input).hex).toBe(xxh3128Hex(input));
  });

  it("refuses an addon that loads but hashes wrong, and falls back", async () => {
    const { xxh3Backend, xxh3128 } = await importBackend(brokenBinding);
    expect(xxh3Backend).toBe("portable");
    for (const input of inputs) expect(xxh3128(input).hex).toBe(xxh3128Hex(input));
  });
});
