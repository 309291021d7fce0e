import { describe, expect, it } from "vitest";
import { requestPath } from "../../src/http/request-path.ts";
import { responseHeaders, webResponse } from "../../src/http/web-response.ts";

describe("requestPath", () => {
  it.each([
    "http://a/",
    "http://a",
    "http://127.0.0.1:3000/orders?dry=1",
    "https://a/b/c?",
    "http://a/b?c#d",
    "http://a/b#d?x",
    "http://u:p@a/b?q",
    "http://a?x",
    "http://a/%20x?y=%20",
    "http://a/b??",
    "http://a/b?x='y'",
    "http://a/b/../c",
    "http://a/b/%2e%2E/c",
    "http://a/x/..?y",
    "http://a/.well-known/x",
    "http://a/b?x=/../",
    "http://a/b c",
    "http://a/é?q=é",
    "http://a/{x}|^`",
    "file:///x",
  ])("gives %s's pathname and search, as URL does", (url) => {
    const parsed = new URL(url);
    expect(requestPath(url)).toBe(parsed.pathname + parsed.search);
  });
});

describe("webResponse", () => {
  it("takes headers named once as a record, in lower case", () => {
    expect(
      responseHeaders([
        ["Content-Type", "text/plain"],
        ["x-a", "1"],
      ]),
    ).toEqual({
      "content-type": "text/plain",
      "x-a": "1",
    });
  });

  it("keeps every value of a repeated name", async () => {
    const response = webResponse(
      201,
      [
        ["set-cookie", "a=1"],
        ["Set-Cookie", "b=2"],
        ["vary", "accept"],
      ],
      new TextEncoder().encode("ok"),
    );
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(response.headers.get("vary")).toBe("accept");
    expect(await response.text()).toBe("ok");
  });

  it.each([204, 205, 304, 200])("sends no body for status %i with no bytes", (status) => {
    expect(webResponse(status, [], new Uint8Array(0)).body).toBeNull();
  });
});
