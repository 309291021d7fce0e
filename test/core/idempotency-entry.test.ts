import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EntryStateError } from "../../src/errors/entry-state-error.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { restoreEntry } from "../../src/core/restore-entry.ts";
import {
  assertCompleted,
  assertProcessing,
  CompletedEntry,
  IdempotencyEntry,
  ProcessingEntry,
} from "../../src/core/idempotency-entry.ts";

const fingerprint = Fingerprint.fromHex("0123456789abcdef0123456789abcdef");

describe("IdempotencyEntry", () => {
  it("moves from processing to completed", () => {
    const entry = IdempotencyEntry.new(fingerprint);
    expect(entry).toBeInstanceOf(ProcessingEntry);
    expect(entry.state).toBe("processing");
    const completed = entry.complete(CachedResponse.from("ok"));
    expect(completed).toBeInstanceOf(CompletedEntry);
    expect(completed.response.text()).toBe("ok");
    expect(completed.fingerprint.equals(fingerprint)).toBe(true);
  });

  it("refuses a caller's wrong fingerprint or response with InvalidArgumentError", () => {
    const argumentOf = (make: () => unknown): string => {
      try {
        make();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError);
        return (error as InvalidArgumentError).argument;
      }
      throw new Error("expected a throw");
    };
    for (const bad of [fingerprint.hex, { hex: fingerprint.hex }, null]) {
      expect(argumentOf(() => IdempotencyEntry.new(bad as never))).toBe("fingerprint");
    }
    const processing = IdempotencyEntry.new(fingerprint);
    const response = CachedResponse.from("ok");
    const lookalike = { status: response.status, headers: response.headers, body: response.body };
    for (const bad of [response.toJSON(), lookalike, "ok", undefined]) {
      expect(argumentOf(() => processing.complete(bad as never))).toBe("response");
    }
  });

  it("backs the typestate at run time for callers the compiler cannot check", () => {
    const processing = IdempotencyEntry.new(fingerprint);
    const completed = processing.complete(CachedResponse.from("x"));
    expect(() => {
      assertCompleted(processing);
    }).toThrow(EntryStateError);
    expect(() => {
      assertProcessing(completed);
    }).toThrow(EntryStateError);
    expect(() => {
      assertCompleted({ state: "completed", fingerprint, response: CachedResponse.from("x") });
    }).toThrow(EntryStateError);
  });

  it("round-trips both states through the versioned JSON form", () => {
    const processing = IdempotencyEntry.new(fingerprint);
    const json = JSON.parse(JSON.stringify(processing)) as unknown;
    expect(json).toEqual({
      version: 1,
      state: "processing",
      fingerprint: fingerprint.hex,
    });
    const processingCopy = IdempotencyEntry.fromJSON(json);
    expect(processingCopy).toBeInstanceOf(ProcessingEntry);
    // The earlier form held the lease too; it still reads.
    const earlier = {
      version: 1,
      state: "processing",
      fingerprint: fingerprint.hex,
      leaseTtlMs: 5,
    };
    expect(IdempotencyEntry.fromJSON(earlier)).toBeInstanceOf(ProcessingEntry);
    const completed = processing.complete(
      new CachedResponse({ status: 201, headers: [["a", "b"]], body: new Uint8Array([0, 200]) }),
    );
    const completedCopy = IdempotencyEntry.fromJSON(JSON.parse(JSON.stringify(completed)));
    if (!(completedCopy instanceof CompletedEntry)) throw new Error("expected completed");
    expect(completedCopy.response.status).toBe(201);
    expect([...completedCopy.response.body]).toEqual([0, 200]);
  });

  it("gives MalformedRecordError for unknown versions, states and corrupt fields", () => {
    const good = JSON.parse(JSON.stringify(IdempotencyEntry.new(fingerprint))) as Record<
      string,
      unknown
    >;
    for (const bad of [
      null,
      "x",
      { ...good, version: 2 },
      { ...good, state: "done" },
      { ...good, fingerprint: "zz" },
      { ...good, state: "completed" },
    ]) {
      expect(() => IdempotencyEntry.fromJSON(bad)).toThrow(MalformedRecordError);
    }
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (value) => {
        try {
          IdempotencyEntry.fromJSON(value);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedRecordError);
        }
      }),
    );
  });
});

describe("restoreEntry", () => {
  it("rebuilds both states from a store's parts, and refuses parts of the wrong type", () => {
    const processing = restoreEntry({ state: "processing", fingerprint });
    expect(processing).toBeInstanceOf(ProcessingEntry);
    const response = CachedResponse.from("ok");
    const completed = restoreEntry({ state: "completed", fingerprint, response });
    expect(completed).toBeInstanceOf(CompletedEntry);
    expect(completed.response).toBe(response);
    for (const bad of [
      { state: "processing", fingerprint: fingerprint.hex },
      { state: "completed", fingerprint, response: response.toJSON() },
      { state: "done", fingerprint },
    ]) {
      expect(() => restoreEntry(bad as never)).toThrow(InvalidArgumentError);
    }
  });
});

describe("what entry errors say", () => {
  // Made in each test, not while collecting them: a fault then fails a test, not the file.
  const completedEntry = () => IdempotencyEntry.new(fingerprint).complete(CachedResponse.from("x"));

  it("names a caller's wrong argument and what was expected", () => {
    expect(() => IdempotencyEntry.new("x" as never)).toThrow("fingerprint: expected a Fingerprint");
    expect(() => IdempotencyEntry.new(fingerprint).complete({} as never)).toThrow(
      "response: expected a CachedResponse",
    );
  });

  it("names the record field at fault", () => {
    const good = JSON.parse(JSON.stringify(completedEntry())) as Record<string, unknown>;
    const cases: [unknown, string, string][] = [
      [null, "", "record: expected an object"],
      [{ ...good, version: 2 }, "version", "version: unsupported version 2"],
      [{ ...good, version: undefined }, "version", "version: unsupported version undefined"],
      [{ ...good, state: "done" }, "state", "state: expected processing or completed"],
      [{ ...good, fingerprint: 7 }, "fingerprint", "fingerprint: expected 32 hexadecimal digits"],
    ];
    for (const [json, path, message] of cases) {
      try {
        IdempotencyEntry.fromJSON(json);
        throw new Error("expected a throw");
      } catch (error) {
        expect(error).toBeInstanceOf(MalformedRecordError);
        expect((error as MalformedRecordError).path).toBe(path);
        expect((error as MalformedRecordError).message).toBe(message);
      }
    }
  });

  it("lets the right state through the assertions and names the wrong one", () => {
    const completed = completedEntry();
    const processing = IdempotencyEntry.new(fingerprint);
    expect(() => {
      assertCompleted(completed);
    }).not.toThrow();
    expect(() => {
      assertProcessing(processing);
    }).not.toThrow();
    const stateError = (assert: () => void): EntryStateError => {
      try {
        assert();
      } catch (error) {
        expect(error).toBeInstanceOf(EntryStateError);
        return error as EntryStateError;
      }
      throw new Error("expected a throw");
    };
    const cases: [unknown, string][] = [
      [processing, "processing"],
      [completed, "completed"],
      [null, "null"],
      [undefined, "undefined"],
      [{ state: "completed" }, "object"],
      ["completed", "string"],
    ];
    for (const [entry, actual] of cases) {
      if (actual !== "completed") {
        const error = stateError(() => {
          assertCompleted(entry);
        });
        expect([error.expected, error.actual]).toEqual(["completed", actual]);
        expect(error.message).toBe(`expected a completed entry, got ${actual}`);
      }
      if (actual !== "processing") {
        const error = stateError(() => {
          assertProcessing(entry);
        });
        expect([error.expected, error.actual]).toEqual(["processing", actual]);
        expect(error.message).toBe(`expected a processing entry, got ${actual}`);
      }
    }
  });

  it("says which of a store's parts is of the wrong type", () => {
    const response = CachedResponse.from("ok");
    const cases: [unknown, string][] = [
      [
        { state: "processing", fingerprint: fingerprint.hex },
        "fingerprint: expected a Fingerprint",
      ],
      [{ state: "completed", fingerprint, response: "ok" }, "response: expected a CachedResponse"],
      [{ state: "done", fingerprint, response }, "state: expected processing or completed"],
    ];
    for (const [parts, message] of cases) {
      try {
        restoreEntry(parts as never);
        throw new Error("expected a throw");
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).argument).toBe("parts");
        expect((error as InvalidArgumentError).message).toBe(`parts: ${message}`);
      }
    }
  });
});
