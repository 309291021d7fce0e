// The edges of CachedResponse's checks and defaults: which argument or record field an error
// names, the status range's ends, the base64 rule, the default content type and null bodies.
// Written from StrykerJS's surviving mutants of cached-response.ts (test/mutation-report.md).
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { thrown } from "./thrown.ts";

const empty = new Uint8Array();
const build = (parts: Record<string, unknown>) => () =>
  new CachedResponse({ status: 200, headers: [], body: empty, ...parts });
const invalid = (make: () => unknown) => thrown(InvalidArgumentError, make);
const malformed = (make: () => unknown) => thrown(MalformedRecordError, make);

describe("CachedResponse at its boundaries", () => {
  it("accepts statuses 200 to 599 and names the status with the value it refused", () => {
    expect(new CachedResponse({ status: 200, headers: [], body: empty }).status).toBe(200);
    expect(new CachedResponse({ status: 599, headers: [], body: empty }).status).toBe(599);
    for (const status of [199, 600, 200.5, "200", null]) {
      const error = invalid(build({ status }));
      expect(error.argument).toBe("status");
      expect(error.message).toBe(
        `status: expected an integer from 200 to 599, got ${String(status)}`,
      );
    }
  });

  it("names the headers and says what is wrong with them", () => {
    const cases: [unknown, string][] = [
      [{ a: "b" }, "expected an array of [name, value] pairs"],
      [["a"], "expected [name, value] pairs"],
      [[["a"]], "expected [name, value] pairs"],
      [[["a", "b", "c"]], "expected [name, value] pairs"],
      [[["bad name", "x"]], 'invalid header name "bad name"'],
      // Would pass the name pattern once converted to a string: checked as a string first.
      [[[1, "x"]], "invalid header name number"],
      [[[1n, "x"]], "invalid header name bigint"],
      [[["x-a", 1]], "invalid value for header x-a"],
      [[["x-a", "a\nb"]], "invalid value for header x-a"],
    ];
    for (const [headers, message] of cases) {
      const error = invalid(build({ headers }));
      expect(error.argument).toBe("headers");
      expect(error.message).toBe(`headers: ${message}`);
    }
  });

  it("names the parts and the body when they are not what it holds", () => {
    const parts = invalid(() => new CachedResponse(null as never));
    expect(parts.argument).toBe("parts");
    expect(parts.message).toBe("parts: expected { status, headers, body }");
    for (const body of ["abc", [1, 2], new ArrayBuffer(2), undefined]) {
      const error = invalid(build({ body }));
      expect(error.argument).toBe("body");
      expect(error.message).toBe("body: expected a Uint8Array");
    }
  });

  it("gives from() a caller's own CachedResponse back as it is", () => {
    const response = CachedResponse.from("x", { status: 201 });
    expect(CachedResponse.from(response)).toBe(response);
  });

  it("types text, bytes and JSON unless the headers already say, in any case", () => {
    expect(CachedResponse.from(new Uint8Array([1])).headers).toEqual([
      ["content-type", "application/octet-stream"],
    ]);
    // Other headers, as a record or as pairs, keep the default content type first.
    expect(CachedResponse.from("x", { headers: { vary: "a" } }).headers).toEqual([
      ["content-type", "text/plain; charset=utf-8"],
      ["vary", "a"],
    ]);
    expect(CachedResponse.from({ a: 1 }, { headers: [["x-a", "1"]] }).headers).toEqual([
      ["content-type", "application/json"],
      ["x-a", "1"],
    ]);
    expect(
      CachedResponse.from({ a: 1 }, { headers: [["CONTENT-TYPE", "text/x"]] }).headers,
    ).toEqual([["CONTENT-TYPE", "text/x"]]);
    expect(CachedResponse.from(undefined).headers).toEqual([]);
  });

  it("refuses a value that is not JSON, keeping JSON.stringify's error as the cause", () => {
    const circular: Record<string, unknown> = {};
    circular["self"] = circular;
    for (const value of [circular, { n: 1n }]) {
      const error = invalid(() => CachedResponse.from(value as never));
      expect(error.argument).toBe("value");
      expect(error.message).toBe("value: not a JSON value");
      expect(error.cause).toBeInstanceOf(TypeError);
    }
    const notJson = invalid(() => CachedResponse.from((() => 1) as never));
    expect(notJson.message).toBe("value: not a JSON value");
    const init = invalid(() => CachedResponse.from("x", null as never));
    expect(init.argument).toBe("init");
    expect(init.message).toBe("init: expected { status, headers }");
  });

  it("names the record field at fault, under the path it is given", () => {
    const good = CachedResponse.from("x").toJSON();
    expect(malformed(() => CachedResponse.fromJSON(null)).message).toBe(
      "response: expected an object",
    );
    const cases: [Record<string, unknown>, string, string][] = [
      [{ ...good, status: 600 }, "status", "expected an integer from 200 to 599, got 600"],
      [{ ...good, headers: [[1, "x"]] }, "headers", "invalid header name number"],
      [{ ...good, body: 1234 }, "body", "expected base64"],
    ];
    for (const [record, field, message] of cases) {
      const error = malformed(() => CachedResponse.fromJSON(record));
      expect(error.path).toBe(`response.${field}`);
      expect(error.message).toBe(`response.${field}: ${message}`);
      expect(malformed(() => CachedResponse.fromJSON(record, "entry.response")).path).toBe(
        `entry.response.${field}`,
      );
    }
  });

  it("reads only whole, padded base64 bodies", () => {
    const record = (body: string) => ({ status: 200, headers: [], body });
    expect([...CachedResponse.fromJSON(record("AAE=")).body]).toEqual([0, 1]);
    expect([...CachedResponse.fromJSON(record("AA==")).body]).toEqual([0]);
    expect(CachedResponse.fromJSON(record("")).body.byteLength).toBe(0);
    for (const body of ["AAA", "AAAAA", "%%%%", "%%%%AAAA", "AAAA%%%%", "AA=A", "A==="]) {
      expect(malformed(() => CachedResponse.fromJSON(record(body))).path).toBe("response.body");
    }
  });

  it("finds a header by name, in any case, and nothing when it is absent", () => {
    const response = new CachedResponse({
      status: 200,
      headers: [
        ["x-a", "1"],
        ["X-B", "2"],
        ["x-b", "3"],
      ],
      body: empty,
    });
    expect(response.header("x-b")).toBe("2");
    expect(response.header("X-A")).toBe("1");
    expect(response.header("x-c")).toBeUndefined();
  });

  it("decodes bad UTF-8 to replacement characters instead of throwing", () => {
    const response = new CachedResponse({ status: 200, headers: [], body: new Uint8Array([0xff]) });
    expect(response.text()).toBe("\ufffd");
  });

  it("gives null-body statuses and empty bodies no body in toResponse", async () => {
    for (const status of [204, 205, 304]) {
      const response = new CachedResponse({ status, headers: [], body: new Uint8Array([1]) });
      const fetched = response.toResponse();
      expect(fetched.status).toBe(status);
      expect(fetched.body).toBeNull();
    }
    const emptyText = CachedResponse.from("").toResponse();
    expect(emptyText.body).toBeNull();
    expect(emptyText.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    const full = CachedResponse.from("hi").toResponse();
    expect(await full.text()).toBe("hi");
  });
});
