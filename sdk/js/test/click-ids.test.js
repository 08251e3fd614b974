// The click id's form and the two text readers, where JavaScript's own functions would
// answer differently from the Python SDK's (String.trim, URLSearchParams's leading "?").

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  clickIdFromCookieHeader,
  clickIdFromQueryString,
  queryStringOf,
  strip,
} from "../src/click-ids.js";
import { COOKIE_NAME, QUERY_PARAMETER, isClickId } from "../src/index.js";

const CLICK_A = "clk_abcdefghijklmnopqrstuvwxyz";

test("the names are the service's", () => {
  assert.equal(COOKIE_NAME, "trac_click_id");
  assert.equal(QUERY_PARAMETER, "trac_click_id");
});

describe("isClickId", () => {
  test("the form: clk_ and 26 of a-z, 2-7", () => {
    assert.ok(isClickId(CLICK_A));
    assert.ok(isClickId("clk_234567234567234567234567ab"));
    for (const value of [
      "clk_",
      `${CLICK_A}x`,
      CLICK_A.slice(0, -1),
      `${CLICK_A}\n`, // a JavaScript "$" without the m flag does not match before a newline
      `\n${CLICK_A}`,
      CLICK_A.toUpperCase(),
      "clk_0bcdefghijklmnopqrstuvwxyz",
      "clk_1bcdefghijklmnopqrstuvwxyz",
      "clk_8bcdefghijklmnopqrstuvwxyz",
      "CLK_abcdefghijklmnopqrstuvwxyz",
      "lnk_abcdefghijklmnopqrstuvwxyz",
    ]) {
      assert.equal(isClickId(value), false, JSON.stringify(value));
    }
  });

  test("only a string is a click id", () => {
    const stringLike = { toString: () => CLICK_A };
    for (const value of [null, undefined, 1, [CLICK_A], new String(CLICK_A), stringLike]) {
      assert.equal(isClickId(value), false);
    }
  });
});

describe("blanks are Python's str.strip() blanks", () => {
  test("those Python strips and String.trim() keeps", () => {
    for (const blank of ["\x1c", "\x1d", "\x1e", "\x1f", "\x85"]) {
      assert.equal(strip(`${blank}${CLICK_A}${blank}`), CLICK_A);
      assert.equal(clickIdFromCookieHeader(`trac_click_id=${blank}${CLICK_A}`), CLICK_A);
    }
  });

  test("the byte-order mark, which String.trim() strips and Python keeps", () => {
    assert.equal(strip(`\ufeff${CLICK_A}`), `\ufeff${CLICK_A}`);
    assert.equal(clickIdFromCookieHeader(`trac_click_id=\ufeff${CLICK_A}`), null);
    assert.equal(clickIdFromQueryString(`trac_click_id=%EF%BB%BF${CLICK_A}`), null);
  });

  test("the others, both ways", () => {
    const blanks = "\t\n\v\f\r \xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000";
    assert.equal(strip(`${blanks}${CLICK_A}${blanks}`), CLICK_A);
    assert.equal(strip(`a${blanks}b`), `a${blanks}b`);
  });
});

describe("the Cookie header", () => {
  test("a blank inside the quotes is stripped, a quote on one side only is kept", () => {
    assert.equal(clickIdFromCookieHeader(`trac_click_id=" ${CLICK_A} "`), CLICK_A);
    assert.equal(clickIdFromCookieHeader(`trac_click_id="${CLICK_A}`), null);
    assert.equal(clickIdFromCookieHeader('trac_click_id="'), null);
  });

  test("blanks around the name, and an = in the value", () => {
    assert.equal(clickIdFromCookieHeader(`  trac_click_id  =  ${CLICK_A}  `), CLICK_A);
    assert.equal(clickIdFromCookieHeader(`trac_click_id==${CLICK_A}`), null);
  });

  test("the value is not percent-decoded, as in the Python SDK", () => {
    assert.equal(clickIdFromCookieHeader(`trac_click_id=clk%5F${CLICK_A.slice(4)}`), null);
  });
});

describe("the query string", () => {
  test("+ is a space, and spaces are stripped", () => {
    assert.equal(clickIdFromQueryString(`trac_click_id=+${CLICK_A}+`), CLICK_A);
    assert.equal(clickIdFromQueryString(`trac+click_id=${CLICK_A}`), null);
  });

  test("a percent-encoded name", () => {
    assert.equal(clickIdFromQueryString(`trac%5Fclick%5fid=${CLICK_A}`), CLICK_A);
  });

  test("a query that starts with ? keeps it in the first name, as parse_qsl does", () => {
    assert.equal(clickIdFromQueryString(`?trac_click_id=${CLICK_A}`), null);
    assert.equal(clickIdFromQueryString(`?a=1&trac_click_id=${CLICK_A}`), CLICK_A);
  });

  test("; is no separator (Python 3.10 and later)", () => {
    assert.equal(clickIdFromQueryString(`a=1;trac_click_id=${CLICK_A}`), null);
  });

  test("malformed escapes and bytes that are not UTF-8", () => {
    assert.equal(clickIdFromQueryString(`%ff%fe=%&trac_click_id=${CLICK_A}&%`), CLICK_A);
    assert.equal(clickIdFromQueryString(`trac_click_id=${CLICK_A}%ff`), null);
  });

  test("the query of a URL or request target", () => {
    assert.equal(queryStringOf("/a?b=1"), "b=1");
    assert.equal(queryStringOf("/a?b=1?c#d?e"), "b=1?c");
    assert.equal(queryStringOf("/a#d?e"), "");
    assert.equal(queryStringOf("/a"), "");
    assert.equal(queryStringOf("https://user@host:1/p?q#f"), "q");
  });
});
