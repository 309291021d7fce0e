// The stored form of a client's key is persistent: a release that changed it would turn every
// retry after an upgrade into a new request. Pinned to known SHA-256 vectors.
import { describe, expect, it } from "vitest";
import { scopedKey } from "../../src/http/scoped-key.ts";

describe("scopedKey", () => {
  it.each([
    ["acme", "order:123", "h1.-Fk_Y7lU7Ac5pJsl11jfxplR6m3H7bwHDaf4fDa2z-I"],
    [null, "k", "h1.CVfKhUaam6IyUwdKowfBiokIwaN5eW0bknn7yBQytNE"],
  ])("stores scope %j and key %j as %s", (scope, key, stored) => {
    expect(scopedKey(scope, key).value).toBe(stored);
  });

  it("keeps callers apart", () => {
    expect(scopedKey("a", "b").value).not.toBe(scopedKey(null, "b").value);
    expect(scopedKey("a", "b").value).not.toBe(scopedKey("b", "a").value);
  });
});
