// What each kind of request adds to the shared table: Express's parsed cookies and query and
// their order, the Fetch API's Request and look-alikes, and objects built to break the reader.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { getClickId } from "../src/index.js";

const CLICK_A = "clk_abcdefghijklmnopqrstuvwxyz";
const CLICK_B = "clk_234567abcdefghijklmnopqrst";
const CLICK_C = "clk_zzzzzzzzzzzzzzzzzzzzzzzzzz";

describe("Express: req.cookies and req.query", () => {
  /** @param {Record<string, unknown>} parts */
  const express = (parts) => ({ headers: {}, url: "/pricing", ...parts });

  test("the raw Cookie header decides before req.cookies", () => {
    const req = express({
      headers: { cookie: `trac_click_id=${CLICK_A}` },
      cookies: { trac_click_id: CLICK_B },
    });
    assert.equal(getClickId(req), CLICK_A);
  });

  test("the raw URL decides before req.cookies and req.query", () => {
    const req = express({
      url: `/pricing?trac_click_id=${CLICK_A}`,
      cookies: { trac_click_id: CLICK_B },
      query: { trac_click_id: CLICK_C },
    });
    assert.equal(getClickId(req), CLICK_A);
  });

  test("req.cookies when the raw parts name no click", () => {
    // cookie-parser percent-decodes values; the raw header holds "clk%5F...", no click id
    const req = express({
      headers: { cookie: `trac_click_id=clk%5F${CLICK_A.slice(4)}` },
      cookies: { trac_click_id: CLICK_A },
      query: { trac_click_id: CLICK_B },
    });
    assert.equal(getClickId(req), CLICK_A);
  });

  test("req.query when nothing else names a click", () => {
    assert.equal(getClickId({ query: { trac_click_id: ` ${CLICK_B} ` } }), CLICK_B);
    assert.equal(getClickId({ cookies: { trac_click_id: CLICK_A } }), CLICK_A);
  });

  test("a repeated query parameter: the first well-formed value", () => {
    const req = express({ query: { trac_click_id: ["junk", CLICK_B, CLICK_A] } });
    assert.equal(getClickId(req), CLICK_B);
  });

  test("what is no click id in the parsed forms is ignored", () => {
    for (const value of [
      "junk",
      CLICK_A.toUpperCase(),
      { a: CLICK_A }, // qs: trac_click_id[a]=...
      [{ a: CLICK_A }],
      42,
      null,
      new String(CLICK_A),
    ]) {
      const req = express({ cookies: { trac_click_id: value }, query: { trac_click_id: value } });
      assert.equal(getClickId(req), null, String(value));
    }
  });

  test("a polluted prototype names no click", () => {
    const inherited = Object.create({ trac_click_id: CLICK_A });
    assert.equal(getClickId(express({ cookies: inherited, query: inherited })), null);
  });
});

test("an IncomingMessage-shaped object with its Cookie headers as a list", () => {
  // Node joins them itself; a hand-made request (a test's, a proxy's) may not
  const req = { headers: { cookie: ["sid=1", 7, `trac_click_id=${CLICK_B}`] }, url: "/" };
  assert.equal(getClickId(req), CLICK_B);
});

describe("the Fetch API's Request and look-alikes", () => {
  test("a POST route handler's request", () => {
    const request = new Request(`https://shop.example/api/checkout?trac_click_id=${CLICK_B}`, {
      method: "POST",
      headers: { cookie: `sid=1; trac_click_id=${CLICK_A}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(getClickId(request), CLICK_A);
  });

  test("several cookie values appended to the Headers", () => {
    const headers = new Headers();
    headers.append("cookie", "trac_click_id=junk");
    headers.append("cookie", `trac_click_id=${CLICK_B}`);
    assert.equal(getClickId(new Request("https://shop.example/", { headers })), CLICK_B);
  });

  test("the URL's fragment is no query", () => {
    const request = new Request(`https://shop.example/?a=1&#&trac_click_id=${CLICK_A}`);
    assert.equal(getClickId(request), null);
  });

  test("a NextRequest-like object: a Request subclass with its own cookies", () => {
    class NextLikeRequest extends Request {
      // Next's RequestCookies: an object with get(), no trac_click_id property
      cookies = { get: () => ({ name: "trac_click_id", value: CLICK_C }) };
    }
    const request = new NextLikeRequest("https://shop.example/pricing", {
      headers: { cookie: `trac_click_id=${CLICK_A}` },
    });
    assert.equal(getClickId(request), CLICK_A);
    assert.equal(getClickId(new NextLikeRequest("https://shop.example/pricing")), null);
  });

  test("any headers object with get(), a Map among them", () => {
    const headers = new Map([["cookie", `trac_click_id=${CLICK_A}`]]);
    const request = { headers, url: "https://a/" };
    assert.equal(getClickId(request), CLICK_A);
  });
});

/** An object every operation on which throws. */
function exploding() {
  return new Proxy(
    {},
    Object.fromEntries(
      ["get", "has", "ownKeys", "getOwnPropertyDescriptor", "getPrototypeOf"].map((trap) => [
        trap,
        () => {
          throw new Error(`${trap} exploded`);
        },
      ]),
    ),
  );
}

describe("hostile objects give null and never throw", () => {
  const revocable = Proxy.revocable({}, {});
  revocable.revoke();
  const throwingGetter = (name) =>
    Object.defineProperty({}, name, {
      get() {
        throw new TypeError(`${name} exploded`);
      },
    });
  const stringLike = {
    toString: () => `trac_click_id=${CLICK_A}`,
    [Symbol.toPrimitive]: () => `trac_click_id=${CLICK_A}`,
  };
  const hostile = {
    undefined: undefined,
    null: null,
    "a number": 42,
    "a string": `trac_click_id=${CLICK_A}`,
    "a symbol": Symbol("request"),
    "a bigint": 10n,
    "a function with headers": Object.assign(() => undefined, {
      headers: { cookie: `trac_click_id=${CLICK_A}` },
    }),
    "an empty object": {},
    "an array": [`trac_click_id=${CLICK_A}`],
    "a proxy that throws on everything": exploding(),
    "a revoked proxy": revocable.proxy,
    "headers that throw": throwingGetter("headers"),
    "headers.get that throws": {
      headers: {
        get() {
          throw new Error("nope");
        },
      },
      url: "/",
    },
    "headers that are a throwing proxy": {
      headers: exploding(),
      url: `/?trac_click_id=${CLICK_A}`,
    },
    "a url that throws": Object.defineProperty({ headers: {} }, "url", {
      get() {
        throw new Error("nope");
      },
    }),
    "cookies that throw": { headers: {}, url: "/", cookies: exploding(), query: exploding() },
    "a cookie header that only looks like a string": { headers: { cookie: stringLike }, url: "/" },
    "a url that only looks like a string": { headers: {}, url: stringLike },
    "a headers.get answering an object": { headers: { get: () => stringLike }, url: "/" },
    "a cookie header of numbers": { headers: { cookie: [1, 2, 3] }, url: "/" },
    "a url without headers": { url: `/?trac_click_id=${CLICK_A}` },
  };
  for (const [name, request] of Object.entries(hostile)) {
    test(name, () => {
      assert.equal(getClickId(request), null);
    });
  }

  test("a megabyte of separators is read quickly", () => {
    const started = performance.now();
    const request = { headers: { cookie: ";=".repeat(1 << 19) }, url: `/?${"&=".repeat(1 << 19)}` };
    assert.equal(getClickId(request), null);
    assert.ok(performance.now() - started < 2000);
  });
});
