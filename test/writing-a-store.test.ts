// The store guide's code is test/map-store.test.ts, which the suite compiles and runs against
// the conformance suite: the guide shows it unchanged, with the package's import paths.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

/** The guide's skeleton: every code block after a `<!-- skeleton -->` marker, in order. */
function guideCode(): string {
  const blocks = [
    ...read("docs/writing-a-store.md").matchAll(/<!-- skeleton -->\s*```ts\n([\s\S]*?)```/g),
  ].map((match) => match[1]);
  return blocks.join("\n");
}

/** The test file as a store author would write it: past its leading comment, package imports. */
function testCode(): string {
  return read("test/map-store.test.ts")
    .replace(/^(\/\/.*\n)+/, "")
    .replace(/from "\.\.\/src\/index\.ts"/g, 'from "idempotent"')
    .replace(/from "\.\.\/src\/store\.ts"/g, 'from "idempotent/store"')
    .replace(/from "\.\.\/src\/testing\/index\.ts"/g, 'from "idempotent/testing"');
}

describe("the store guide (docs/writing-a-store.md)", () => {
  it("shows test/map-store.test.ts, the store that passes the conformance suite, unchanged", () => {
    expect(guideCode()).toBe(testCode());
  });
});
