import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { validateDeadlineMs, withDeadline } from "../../src/utils/deadline.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const root = fileURLToPath(new URL("../..", import.meta.url));

/** Unhandled rejections seen while `body` runs and shortly after. */
async function unhandledRejectionsDuring(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on("unhandledRejection", listener);
  try {
    await body();
    await sleep(50);
  } finally {
    process.off("unhandledRejection", listener);
  }
  return seen;
}

describe("withDeadline", () => {
  it("answers with the work's value and clears its timer", async () => {
    let timeouts = 0;
    let seen: AbortSignal | undefined;
    const value = await withDeadline(
      30,
      async (signal) => {
        seen = signal;
        return 42;
      },
      () => {
        timeouts++;
        return new Error("timeout");
      },
    );
    expect(value).toBe(42);
    await sleep(80);
    // A timer left running would have fired by now.
    expect(timeouts).toBe(0);
    expect(seen?.aborted).toBe(false);
  });

  it("passes on the work's own failure before the deadline", async () => {
    const failure = new Error("refused");
    await expect(
      withDeadline(
        1000,
        () => Promise.reject(failure),
        () => new Error("timeout"),
      ),
    ).rejects.toBe(failure);
  });

  it("rejects at the deadline, aborts the signal and swallows a late failure", async () => {
    const timeout = new Error("timeout");
    let signal: AbortSignal | undefined;
    let rejectLate: ((error: Error) => void) | undefined;
    const unhandled = await unhandledRejectionsDuring(async () => {
      const started = performance.now();
      const error = await withDeadline(
        40,
        (given) => {
          signal = given;
          return new Promise<never>((_, reject) => {
            rejectLate = reject;
          });
        },
        () => timeout,
      ).catch((caught: unknown) => caught);
      expect(error).toBe(timeout);
      expect(performance.now() - started).toBeGreaterThanOrEqual(35);
      expect(signal?.aborted).toBe(true);
      expect(signal?.reason).toBe(timeout);
      rejectLate?.(new Error("late reply"));
    });
    expect(rejectLate).toBeTypeOf("function");
    expect(unhandled).toEqual([]);
  });

  it("never keeps the process alive", () => {
    // A process whose only pending work is a never-settling call with a minute's deadline.
    const started = performance.now();
    const output = execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import { withDeadline } from "./src/utils/deadline.ts";
         void withDeadline(60_000, () => new Promise(() => {}), () => new Error("t")).catch(() => {});
         console.log("waiting");`,
      ],
      { cwd: root, encoding: "utf8", timeout: 30_000 },
    );
    expect(output.trim()).toBe("waiting");
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});

describe("validateDeadlineMs", () => {
  it("accepts positive integers a timer can hold and refuses the rest", () => {
    expect(validateDeadlineMs(1, "timeoutMs")).toBe(1);
    expect(validateDeadlineMs(2 ** 31 - 1, "timeoutMs")).toBe(2 ** 31 - 1);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(() => validateDeadlineMs(bad, "timeoutMs"), String(bad)).toThrow(InvalidArgumentError);
    }
  });
});
