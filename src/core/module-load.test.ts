// Every core module loads on its own. Some compute at load (the XXH3 secret, the text decoder,
// the backend choice); a fault there fails every test file that imports the module before any
// test runs, which a runner may report as no tests rather than as a failure. Imported here
// inside a test, such a fault is a failing test.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

const modules = readdirSync(new URL(".", import.meta.url)).filter(
  (name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".test-d.ts"),
);

describe("core modules", () => {
  it.each(modules)("%s loads", async (name) => {
    const module = (await import(`./${name}`)) as Record<string, unknown>;
    expect(module).toBeTypeOf("object");
  });
});
