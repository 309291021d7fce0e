import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { assertFencingToken, assertIdempotencyKey } from "../../src/core/store-arguments.ts";
import { thrown } from "./thrown.ts";

describe("store argument checks", () => {
  it("let a real key and a real token through", () => {
    expect(() => {
      assertIdempotencyKey(IdempotencyKey.parse("k"));
    }).not.toThrow();
    expect(() => {
      assertFencingToken(FencingToken.from(1));
    }).not.toThrow();
  });

  it("refuse look-alikes, strings and nothing, naming the argument", () => {
    for (const bad of ["k", { value: "k" }, IdempotencyKey.parse("k").toJSON(), null, undefined]) {
      const error = thrown(InvalidArgumentError, () => {
        assertIdempotencyKey(bad);
      });
      expect(error.argument).toBe("key");
      expect(error.message).toBe("key: expected an IdempotencyKey");
    }
    for (const bad of [1, 1n, "1", { value: 1n }, FencingToken.from(1).toJSON(), undefined]) {
      const error = thrown(InvalidArgumentError, () => {
        assertFencingToken(bad);
      });
      expect(error.argument).toBe("fencingToken");
      expect(error.message).toBe("fencingToken: expected a FencingToken");
    }
  });
});
