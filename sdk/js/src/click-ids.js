// What a click id looks like, and where one is found in a Cookie header or a query string.
//
// The same rules as the Python SDK (sdk/python/src/traaaction_sdk/click_ids.py), character for
// character: everything here takes text and gives a well-formed click id or null, and no input
// makes it throw.

/** The first-party cookie that Traaaction's trac.js writes on the merchant's pages. */
export const COOKIE_NAME = "trac_click_id";
/** The query parameter that Traaaction's /r/{key} redirect adds to the partner's destination. */
export const QUERY_PARAMETER = "trac_click_id";

// a click id as the service makes it: "clk_" and 26 lower-case base32 characters
const CLICK_ID = /^clk_[a-z2-7]{26}$/;

// Python's str.strip() removes the characters for which str.isspace() is true; String.trim()
// removes a slightly different set (it keeps \x1c-\x1f and \x85, and removes \ufeff). The
// Python set is used so that both SDKs accept exactly the same values.
const BLANKS =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const EDGE_BLANKS = new RegExp(`^[${BLANKS}]+|[${BLANKS}]+$`, "g");

/**
 * `value` without the blanks at either end, as Python's `str.strip()` would leave it.
 * @param {string} value
 * @returns {string}
 */
export function strip(value) {
  return value.replace(EDGE_BLANKS, "");
}

/**
 * True for a string that is a well-formed click id, and for nothing else.
 * @param {unknown} value
 * @returns {value is string}
 */
export function isClickId(value) {
  return typeof value === "string" && CLICK_ID.test(value);
}

/**
 * The first of `values` that is a well-formed click id once stripped of blanks.
 * @param {Iterable<unknown>} values
 * @returns {string | null}
 */
export function firstClickId(values) {
  for (const value of values) {
    if (typeof value !== "string") continue;
    const candidate = strip(value);
    if (isClickId(candidate)) return candidate;
  }
  return null;
}

/**
 * The values of the cookies named `name` in a Cookie header, in order.
 *
 * Not a cookie library: one cookie such a parser cannot read (a JSON value another script
 * wrote, a stray quote) may make it drop the cookies after it, and the `cookie` package keeps
 * only the first value of a name. Browsers send "name=value" pairs separated by ";", which is
 * all that is read here.
 * @param {string} header
 * @param {string} name
 * @returns {Generator<string>}
 */
function* cookieValues(header, name) {
  for (const pair of header.split(";")) {
    const equals = pair.indexOf("=");
    if (equals === -1 || strip(pair.slice(0, equals)) !== name) continue;
    let value = strip(pair.slice(equals + 1));
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
      value = value.slice(1, -1);
    }
    yield value;
  }
}

/**
 * The click id in a Cookie header: the first well-formed `trac_click_id` value (browsers put
 * the cookie of the most specific path first).
 * @param {string} header
 * @returns {string | null}
 */
export function clickIdFromCookieHeader(header) {
  return firstClickId(cookieValues(header, COOKIE_NAME));
}

/**
 * The values of the parameters named `name` in a query string, in order, decoded as Python's
 * `urllib.parse.parse_qsl` decodes them (split on "&", "+" is a space, percent-escapes are
 * UTF-8 with U+FFFD for what is not; a malformed escape is kept as it is).
 * @param {string} query
 * @param {string} name
 * @returns {Generator<string>}
 */
function* queryValues(query, name) {
  // URLSearchParams drops one leading "?" from the text it is given; parse_qsl does not. The
  // "?" put in front is the one it drops, so that a query that itself starts with "?" keeps it.
  for (const [key, value] of new URLSearchParams(`?${query}`)) {
    if (key === name) yield value;
  }
}

/**
 * The click id in a URL's query string (without the "?"): the first well-formed
 * `trac_click_id` value.
 * @param {string} query
 * @returns {string | null}
 */
export function clickIdFromQueryString(query) {
  return firstClickId(queryValues(query, QUERY_PARAMETER));
}

/**
 * The query string of a URL or of a request target ("/path?query#fragment"): after the first
 * "?", up to the fragment. No URL parser, so that nothing a client sends can make it throw.
 * @param {string} url
 * @returns {string}
 */
export function queryStringOf(url) {
  const hash = url.indexOf("#");
  const beforeFragment = hash === -1 ? url : url.slice(0, hash);
  const question = beforeFragment.indexOf("?");
  return question === -1 ? "" : beforeFragment.slice(question + 1);
}
