import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it, vi } from "vitest";
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
      async (deadline) => {
        seen = deadline.signal;
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
        (deadline) => {
          signal = deadline.signal;
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

  it("hands work that reads the signal only after the deadline an aborted one", async () => {
    const timeout = new Error("timeout");
    let late: Promise<{ expired: boolean; signal: AbortSignal }> | undefined;
    const error = await withDeadline(
      20,
      (deadline) => {
        expect(deadline.expired).toBe(false);
        late = sleep(60).then(() => ({ expired: deadline.expired, signal: deadline.signal }));
        return new Promise<never>(() => {});
      },
      () => timeout,
    ).catch((caught: unknown) => caught);
    expect(error).toBe(timeout);
    const seen = await late;
    expect(seen?.expired).toBe(true);
    expect(seen?.signal.aborted).toBe(true);
    expect(seen?.signal.reason).toBe(timeout);
  });

  it("rejects when the work throws before it returns a promise", async () => {
    const failure = new Error("bad arguments");
    await expect(
      withDeadline(
        1000,
        () => {
          throw failure;
        },
        () => new Error("timeout"),
      ),
    ).rejects.toBe(failure);
  });

  it("lets recover make the result of failed work, a synchronous throw included", async () => {
    const seen: unknown[] = [];
    const recover = (error: unknown) => {
      seen.push(error);
      return Promise.resolve("recovered");
    };
    const rejected = new Error("rejected");
    const thrown = new Error("thrown");
    expect(
      await withDeadline(
        1000,
        () => Promise.reject(rejected),
        () => new Error("t"),
        recover,
      ),
    ).toBe("recovered");
    const throwing = () => {
      throw thrown;
    };
    expect(await withDeadline(1000, throwing, () => new Error("t"), recover)).toBe("recovered");
    expect(seen).toEqual([rejected, thrown]);
    // Work that succeeds never calls it.
    expect(
      await withDeadline(
        1000,
        () => Promise.resolve("answered"),
        () => new Error("t"),
        recover,
      ),
    ).toBe("answered");
    expect(seen).toHaveLength(2);
  });

  it("rejects with what recover throws or rejects with, once", async () => {
    const mapped = new Error("mapped");
    let calls = 0;
    const recover = () => {
      calls++;
      return Promise.reject(mapped);
    };
    await expect(
      withDeadline(
        1000,
        () => Promise.reject(new Error("raw")),
        () => new Error("t"),
        recover,
      ),
    ).rejects.toBe(mapped);
    await expect(
      withDeadline(
        1000,
        () => Promise.reject(new Error("raw")),
        () => new Error("t"),
        () => {
          throw mapped;
        },
      ),
    ).rejects.toBe(mapped);
    expect(calls).toBe(1);
  });

  it("runs recover within the same deadline", async () => {
    const timeout = new Error("timeout");
    let expiredAtRecover: boolean | undefined;
    let signal: AbortSignal | undefined;
    const started = performance.now();
    const error = await withDeadline(
      60,
      () => sleep(20).then(() => Promise.reject(new Error("first try"))),
      () => timeout,
      (_error, deadline) => {
        expiredAtRecover = deadline.expired;
        signal = deadline.signal;
        return new Promise<never>(() => {});
      },
    ).catch((caught: unknown) => caught);
    expect(error).toBe(timeout);
    expect(expiredAtRecover).toBe(false);
    expect(signal?.aborted).toBe(true);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(55);
    expect(elapsed).toBeLessThan(500);
  });

  it("keeps each call's own deadline when many share one length", async () => {
    // Calls started 0, 30 and 60 ms apart with a 100 ms deadline; the second one answers at 50.
    const started = performance.now();
    const outcomes: [string, number][] = [];
    const call = (name: string, answerAfterMs?: number) =>
      withDeadline(
        100,
        () =>
          answerAfterMs === undefined
            ? new Promise<never>(() => {})
            : sleep(answerAfterMs).then(() => name),
        () => new Error(name),
      ).then(
        (value) => outcomes.push([`${value} answered`, performance.now() - started]),
        (error: unknown) =>
          outcomes.push([`${(error as Error).message} timed out`, performance.now() - started]),
      );
    const calls = [call("first")];
    await sleep(30);
    calls.push(call("second", 20));
    await sleep(30);
    calls.push(call("third"));
    await Promise.all(calls);
    expect(outcomes.map(([what]) => what)).toEqual([
      "second answered",
      "first timed out",
      "third timed out",
    ]);
    const at = new Map(outcomes);
    expect(at.get("first timed out")).toBeGreaterThanOrEqual(98);
    expect(at.get("first timed out")).toBeLessThan(150);
    expect(at.get("third timed out")).toBeGreaterThanOrEqual(158);
  });

  it("keeps time by a monotonic clock: a wall clock stepped back times out no call early", async () => {
    const realNow = Date.now.bind(Date);
    const first = withDeadline(
      100,
      () => new Promise<never>(() => {}),
      () => new Error("first"),
    ).catch((error: unknown) => error);
    await sleep(50);
    const second = withDeadline(
      100,
      () => sleep(90).then(() => "second answered"),
      () => new Error("second timed out"),
    ).catch((error: unknown) => error);
    await sleep(20);
    // The wall clock steps an hour back while both wait; the first still times out at 100 ms.
    const stepped = vi.spyOn(Date, "now").mockImplementation(() => realNow() - 3_600_000);
    try {
      expect(await first).toEqual(new Error("first"));
      expect(await second).toBe("second answered");
    } finally {
      stepped.mockRestore();
    }
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
