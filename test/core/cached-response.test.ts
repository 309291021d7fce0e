import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { CachedResponse } from "../../src/core/cached-response.ts";

describe("CachedResponse", () => {
  it("builds responses from strings, bytes, JSON values and nothing", () => {
    const text = CachedResponse.from("héllo");
    expect(text.header("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(text.text()).toBe("héllo");
    const bytes = new Uint8Array([0, 255, 1]);
    const binary = CachedResponse.from(bytes, { status: 202 });
    bytes[0] = 9; // copied, not aliased
    expect([...binary.body]).toEqual([0, 255, 1]);
    expect(binary.status).toBe(202);
    const json = CachedResponse.from({ id: 1, tags: ["a"] }, { status: 201 });
    expect(json.json()).toEqual({ id: 1, tags: ["a"] });
    expect(json.header("content-type")).toBe("application/json");
    expect(CachedResponse.from(undefined).status).toBe(204);
    const custom = CachedResponse.from("x", {
      headers: { "Content-Type": "text/csv", vary: ["a", "b"] },
    });
    expect(custom.headers).toEqual([
      ["Content-Type", "text/csv"],
      ["vary", "a"],
      ["vary", "b"],
    ]);
  });

  it("reads a fetch Response fully, binary body and repeated set-cookie included", async () => {
    const headers = new Headers({ "x-a": "1" });
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    const body = new Uint8Array(300).map((_, index) => index % 256);
    const cached = await CachedResponse.from(new Response(body, { status: 201, headers }));
    expect(cached.status).toBe(201);
    expect(cached.headers.filter(([name]) => name === "set-cookie")).toHaveLength(2);
    expect(Buffer.from(cached.body).equals(Buffer.from(body))).toBe(true);
    const back = cached.toResponse();
    expect(back.status).toBe(201);
    expect(Buffer.from(await back.arrayBuffer()).equals(Buffer.from(body))).toBe(true);
  });

  it("rejects invalid statuses and headers with typed errors", () => {
    const body = new Uint8Array();
    expect(() => new CachedResponse({ status: 99, headers: [], body })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new CachedResponse({ status: 200.5, headers: [], body })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new CachedResponse({ status: 200, headers: [["bad name", "x"]], body })).toThrow(
      InvalidArgumentError,
    );
    expect(() => new CachedResponse({ status: 200, headers: [["x", "a\r\nb"]], body })).toThrow(
      InvalidArgumentError,
    );
    expect(() => CachedResponse.from(Symbol() as never)).toThrow(InvalidArgumentError);
  });

  it("refuses any bad caller value with InvalidArgumentError, never a TypeError", () => {
    const circular: Record<string, unknown> = {};
    circular["self"] = circular;
    expect(() => CachedResponse.from(circular as never)).toThrow(InvalidArgumentError);
    expect(() => CachedResponse.from({ n: 1n } as never)).toThrow(InvalidArgumentError);
    expect(() => CachedResponse.from("x", null as never)).toThrow(InvalidArgumentError);
    expect(() => new CachedResponse(null as never)).toThrow(InvalidArgumentError);
    const anything = fc.anything({ withBigInt: true, withMap: true, withTypedArray: true });
    fc.assert(
      fc.property(anything, anything, (value, other) => {
        for (const make of [
          () => CachedResponse.from(value as never, other as never),
          () => new CachedResponse(value as never),
          () =>
            new CachedResponse({ status: 200, headers: value as never, body: new Uint8Array() }),
        ]) {
          try {
            make();
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidArgumentError);
          }
        }
      }),
    );
  });

  it("adds a header to a copy, checking only the new one", () => {
    const original = CachedResponse.from({ id: 42 }, { status: 201, headers: [["vary", "a"]] });
    const copy = original.withHeader("idempotent-replayed", "true");
    expect(copy).toBeInstanceOf(CachedResponse);
    expect(copy.status).toBe(201);
    expect(copy.headers).toEqual([...original.headers, ["idempotent-replayed", "true"]]);
    expect(copy.body).toBe(original.body);
    expect(original.headers).toHaveLength(2);
    expect(() => original.withHeader("bad name", "x")).toThrow(InvalidArgumentError);
    expect(() => original.withHeader("x-ok", "a\r\nb")).toThrow(InvalidArgumentError);
    // The constructor still checks what it is given afterwards.
    expect(() => new CachedResponse({ status: 99, headers: [], body: new Uint8Array() })).toThrow(
      InvalidArgumentError,
    );
  });

  it("round-trips through its JSON form byte for byte", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 599 }),
        fc.array(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.string())),
        fc.uint8Array({ maxLength: 2048 }),
        (status, rawHeaders, body) => {
          const headers = rawHeaders.map(
            ([name, value]) => [name, value.replace(/[\r\n\0]/g, "")] as const,
          );
          const response = new CachedResponse({ status, headers, body });
          const copy = CachedResponse.fromJSON(JSON.parse(JSON.stringify(response)));
          expect(copy.status).toBe(status);
          expect(copy.headers).toEqual(headers);
          expect(Buffer.from(copy.body).equals(Buffer.from(body))).toBe(true);
        },
      ),
    );
  });

  it("refuses malformed JSON forms with MalformedRecordError only", () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true }), (value) => {
        try {
          CachedResponse.fromJSON(value);
        } catch (error) {
          expect(error).toBeInstanceOf(MalformedRecordError);
        }
      }),
    );
    expect(() => CachedResponse.fromJSON({ status: 200, headers: [], body: "%%%" })).toThrow(
      MalformedRecordError,
    );
  });
});
