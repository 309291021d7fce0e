import { afterEach, describe, expect, it, vi } from "vitest";
import { systemClock } from "../../src/core/clock.ts";

describe("systemClock", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reads the process clock, Date.now()", () => {
    vi.useFakeTimers({ now: 1_700_000_000_123 });
    expect(systemClock.now()).toBe(1_700_000_000_123);
    vi.setSystemTime(42);
    expect(systemClock.now()).toBe(42);
  });
});
