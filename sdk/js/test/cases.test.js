// The shared table (cases.json, the same cases as the Python SDK's tests/sdk/cases.py, which
// tests/sdk/test_js_sdk.py keeps equal) through each kind of request: a real IncomingMessage
// over loopback, a Fetch API Request, and an Express request (a real IncomingMessage that
// cookie-parser's and Express's query parser have been over).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";

import { getClickId } from "../src/index.js";

/** @type {{ name: string, cookie: string | null, query: string, expected: string | null }[]} */
const CASES = JSON.parse(readFileSync(new URL("./cases.json", import.meta.url), "utf8"));
const CLICK_A = "clk_abcdefghijklmnopqrstuvwxyz";
const CLICK_B = "clk_234567abcdefghijklmnopqrst";

test("the table is the shared one, not empty", () => {
  assert.equal(CASES.length, 21);
  assert.ok(CASES.some((c) => c.expected === null));
  assert.ok(CASES.some((c) => c.expected !== null));
});

/** The request target for a case's query: "/pricing" or "/pricing?<query>". */
const targetOf = (query) => (query ? `/pricing?${query}` : "/pricing");

/**
 * req.cookies as cookie-parser (the `cookie` package) leaves it: the first value of each
 * name, trimmed, quotes removed, percent-decoded when it decodes.
 * @param {string} header
 */
function cookieParserCookies(header) {
  /** @type {Record<string, string>} */
  const cookies = Object.create(null);
  for (const pair of header.split(";")) {
    const equals = pair.indexOf("=");
    if (equals === -1) continue;
    const name = pair.slice(0, equals).trim();
    if (name in cookies) continue;
    let value = pair.slice(equals + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // the cookie package keeps a value that does not decode as it is
    }
    cookies[name] = value;
  }
  return cookies;
}

/**
 * req.query as Express's query parser leaves it: a repeated parameter becomes a list.
 * @param {string} query
 */
function expressQuery(query) {
  /** @type {Record<string, string | string[]>} */
  const parsed = {};
  for (const [key, value] of new URLSearchParams(query)) {
    const seen = parsed[key];
    parsed[key] = seen === undefined ? value : [seen, value].flat();
  }
  return parsed;
}

describe("a real http.IncomingMessage over loopback", () => {
  /** @type {http.Server} */
  let server;
  /** @type {number} */
  let port;

  before(async () => {
    server = http.createServer((req, res) => {
      const plain = getClickId(req);
      // what Express and cookie-parser add to the same IncomingMessage
      const express = Object.assign(req, {
        cookies: cookieParserCookies(req.headers.cookie ?? ""),
        query: expressQuery(new URL(req.url ?? "/", "http://shop.example").search),
      });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ plain, express: getClickId(express) }));
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    port = address.port;
  });

  after(() => new Promise((resolve) => server.close(() => resolve(undefined))));

  /**
   * @param {string} path
   * @param {http.OutgoingHttpHeaders} headers
   * @returns {Promise<{ plain: string | null, express: string | null }>}
   */
  function send(path, headers) {
    return new Promise((resolve, reject) => {
      const request = http.request(
        { host: "127.0.0.1", port, path, headers, agent: false },
        (response) => {
          let body = "";
          response.setEncoding("utf8");
          response.on("data", (chunk) => (body += chunk));
          response.on("end", () => resolve(JSON.parse(body)));
        },
      );
      request.on("error", reject);
      request.end();
    });
  }

  for (const c of CASES) {
    test(c.name, async () => {
      const found = await send(targetOf(c.query), c.cookie === null ? {} : { cookie: c.cookie });
      assert.deepEqual(found, { plain: c.expected, express: c.expected });
    });
  }

  /**
   * A request written on the socket by hand, for what Node's own client will not send.
   * @param {string} head the request line and headers, "\r\n"-separated
   * @returns {Promise<{ plain: string | null, express: string | null }>}
   */
  function sendRaw(head) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.end(`${head}\r\nHost: shop.example\r\nConnection: close\r\n\r\n`, "latin1");
      });
      let answer = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk) => (answer += chunk));
      socket.on("end", () => resolve(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))));
      socket.on("error", reject);
    });
  }

  test("several Cookie header lines are read as one", async () => {
    const found = await sendRaw(
      [
        "GET /pricing HTTP/1.1",
        "Cookie: sid=1",
        "Cookie: trac_click_id=junk",
        `Cookie: trac_click_id=${CLICK_B}`,
      ].join("\r\n"),
    );
    assert.deepEqual(found, { plain: CLICK_B, express: CLICK_B });
  });

  test("a fragment in the request target is no query", async () => {
    const found = await sendRaw(`GET /pricing?a=1&b=2#&trac_click_id=${CLICK_A} HTTP/1.1`);
    assert.deepEqual(found, { plain: null, express: null });
  });

  test("an absolute-form request target (through a proxy) keeps its query", async () => {
    const target = `http://shop.example/pricing?trac_click_id=${CLICK_A}`;
    const found = await sendRaw(`GET ${target} HTTP/1.1`);
    assert.deepEqual(found, { plain: CLICK_A, express: CLICK_A });
  });

  test("a Latin-1 byte in the Cookie header does not hide the click", async () => {
    const cookie = `name=caf\xe9; trac_click_id=${CLICK_A}`;
    const found = await sendRaw(`GET /pricing HTTP/1.1\r\nCookie: ${cookie}`);
    assert.deepEqual(found, { plain: CLICK_A, express: CLICK_A });
  });
});

describe("a Fetch API Request (Next.js route handlers)", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const url = `https://shop.example${targetOf(c.query)}`;
      const request = new Request(url, { headers: c.cookie === null ? {} : { cookie: c.cookie } });
      assert.equal(getClickId(request), c.expected);
    });
  }
});

describe("an Express-shaped object without a socket", () => {
  for (const c of CASES) {
    test(c.name, () => {
      const cookie = c.cookie ?? "";
      const target = targetOf(c.query);
      const req = {
        headers: c.cookie === null ? {} : { cookie },
        url: target,
        originalUrl: target,
        cookies: cookieParserCookies(cookie),
        query: expressQuery(c.query),
      };
      assert.equal(getClickId(req), c.expected);
    });
  }
});
