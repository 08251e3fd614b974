// Where a request keeps its Cookie header and its query, whatever made it. Duck-typed, never
// importing a framework:
//
// - Node's http.IncomingMessage (and so Express's request, which is one): `headers.cookie`
//   (Node joins several Cookie headers with "; ") and `url`, the request target as received;
// - the Fetch API's Request (Next.js route handlers, Deno, Bun, Cloudflare Workers):
//   `headers.get("cookie")` and `url`, an absolute URL;
// - what Express's middleware parsed: `cookies` (cookie-parser) and `query`. These are read
//   only when the raw header and URL name no click, so that for any request that carries them
//   the answer is the Python SDK's, which reads nothing else.

import {
  COOKIE_NAME,
  QUERY_PARAMETER,
  clickIdFromCookieHeader,
  clickIdFromQueryString,
  firstClickId,
  queryStringOf,
} from "./click-ids.js";

/**
 * @param {unknown} value
 * @returns {value is Record<PropertyKey, unknown>}
 */
function isObject(value) {
  return typeof value === "object" && value !== null;
}

/**
 * The Cookie header as one string: a list of them (several Cookie headers, as HTTP/2 clients
 * may send) joined with "; " again, anything that is not text is no header.
 * @param {unknown} value
 * @returns {string}
 */
function cookieHeaderText(value) {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.filter((part) => typeof part === "string").join("; ");
  return "";
}

/**
 * The request's Cookie header and query string, as text; empty for a request without
 * headers (it is then no request whose raw parts this module knows).
 * @param {Record<PropertyKey, unknown>} request
 * @returns {{ cookieHeader: string, queryString: string }}
 */
function rawParts(request) {
  const headers = request.headers;
  if (!isObject(headers)) return { cookieHeader: "", queryString: "" };
  const url = request.url;
  const queryString = typeof url === "string" ? queryStringOf(url) : "";
  // a Fetch API Headers (or anything with its get()); Node's headers are a plain object
  const cookie = typeof headers.get === "function" ? headers.get("cookie") : headers.cookie;
  return { cookieHeader: cookieHeaderText(cookie), queryString };
}

/**
 * The click id among what a middleware parsed: `parsed[name]` as a string or a list of them
 * (a repeated query parameter); nested objects (`qs`'s `a[b]=c`) are not click ids.
 * @param {unknown} parsed
 * @param {string} name
 * @returns {string | null}
 */
function parsedClickId(parsed, name) {
  // own properties only: a polluted Object.prototype must not name a click
  if (!isObject(parsed) || !Object.hasOwn(parsed, name)) return null;
  const value = parsed[name];
  return firstClickId(Array.isArray(value) ? value : [value]);
}

/**
 * The visitor's click id, for a request object (see the top of this module). May throw
 * whatever a hostile object's properties throw: the caller catches.
 * @param {unknown} request
 * @returns {string | null}
 */
export function readClickId(request) {
  if (!isObject(request)) return null;
  const { cookieHeader, queryString } = rawParts(request);
  return (
    clickIdFromCookieHeader(cookieHeader) ??
    clickIdFromQueryString(queryString) ??
    parsedClickId(request.cookies, COOKIE_NAME) ??
    parsedClickId(request.query, QUERY_PARAMETER)
  );
}
