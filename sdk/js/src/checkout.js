// What to add to `stripe.checkout.sessions.create({...})` so that the sale is the partner's.
//
// The service reads `metadata.tracClickId` first, then `client_reference_id` (bare or
// "trac_"-prefixed), and for renewals the subscription's metadata, which Stripe copies onto
// every invoice (`subscription_details.metadata`): so renewals stay attributed even when the
// checkout's own event never arrives. The same behaviour as the Python SDK's checkout.py;
// the keys of the result are Stripe's own (snake_case), as stripe-node takes them.

import { readClickId } from "./request-reading.js";

/** The metadata key the service reads on sessions, subscriptions and invoices. */
export const METADATA_KEY = "tracClickId";
/** Stripe's Checkout modes. */
export const MODES = Object.freeze(["payment", "subscription", "setup"]);

const OPTIONS = new Set(["mode", "metadata", "subscriptionData", "clientReferenceId"]);

/**
 * The merchant's own metadata already names a different click: neither is dropped silently.
 */
export class ClickIdConflict extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "ClickIdConflict";
  }
}

/**
 * The visitor's click id: the `trac_click_id` cookie, else the `trac_click_id` query
 * parameter; null when neither holds a well-formed one.
 *
 * `request` is a Node `http.IncomingMessage`, an Express request or a Fetch API `Request`
 * (Next.js route handlers). Anything else, however malformed, gives null: this never throws,
 * because a missing click must never break a checkout.
 * @param {unknown} request
 * @returns {string | null}
 */
export function getClickId(request) {
  try {
    return readClickId(request);
  } catch {
    // a hostile request object's properties (getters, proxies) may throw anything
    return null;
  }
}

/** @param {unknown} value */
function isAbsent(value) {
  return value === undefined || value === null;
}

/**
 * @param {unknown} value
 * @param {string} what
 * @returns {Record<string, unknown> | undefined}
 */
function optionalObject(value, what) {
  if (isAbsent(value)) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object, not ${describe(value)}`);
  }
  return /** @type {Record<string, unknown>} */ (value);
}

/** @param {unknown} value */
function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value);
  return typeof value;
}

/**
 * `own` with the click id added under METADATA_KEY (a copy: the caller's object is never
 * changed).
 * @param {Record<string, unknown> | undefined} own
 * @param {string | null} clickId
 * @param {string} where
 * @returns {Record<string, unknown>}
 */
function merged(own, clickId, where) {
  const result = { ...own };
  if (clickId === null) return result;
  const present = result[METADATA_KEY];
  if (!isAbsent(present) && present !== clickId) {
    throw new ClickIdConflict(
      `${where} already has ${METADATA_KEY}=${JSON.stringify(present)} and the request names ` +
        `${JSON.stringify(clickId)}: remove one of them`,
    );
  }
  result[METADATA_KEY] = clickId;
  return result;
}

/**
 * The click's fields for `stripe.checkout.sessions.create({...checkoutParams(req), ...})`.
 *
 * With a click: `metadata.tracClickId` and `client_reference_id`, and in mode "subscription"
 * also `subscription_data.metadata.tracClickId`. With no click: an empty object, so that the
 * spread is always safe.
 *
 * Pass your own `metadata`, `subscriptionData` and `clientReferenceId` here rather than
 * beside the result: they come back merged (your `clientReferenceId` is kept as it is; the
 * click still rides in the metadata). A `tracClickId` of your own that differs from the
 * request's throws ClickIdConflict; an unknown `mode`, `subscriptionData` outside mode
 * "subscription", an unknown option or a value of the wrong type throws TypeError.
 * @param {unknown} request
 * @param {{ mode?: string, metadata?: Record<string, string> | null,
 *   subscriptionData?: Record<string, unknown> | null,
 *   clientReferenceId?: string | null }} [options]
 * @returns {{ metadata?: Record<string, string>, client_reference_id?: string,
 *   subscription_data?: Record<string, unknown> }}
 */
export function checkoutParams(request, options = {}) {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`options must be an object, not ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    // a snake_case key here (subscription_data) would otherwise be dropped without a word
    if (!OPTIONS.has(name)) {
      throw new TypeError(`unknown option ${JSON.stringify(name)}: use ${[...OPTIONS].join(", ")}`);
    }
  }
  const { mode = "payment", clientReferenceId } = options;
  if (typeof mode !== "string" || !MODES.includes(mode)) {
    throw new TypeError(`mode must be one of ${MODES.join(", ")}, not ${describe(mode)}`);
  }
  const metadata = optionalObject(options.metadata, "metadata");
  const subscriptionData = optionalObject(options.subscriptionData, "subscriptionData");
  if (subscriptionData !== undefined && mode !== "subscription") {
    throw new TypeError(`subscriptionData is for mode "subscription", not ${JSON.stringify(mode)}`);
  }
  if (!isAbsent(clientReferenceId) && typeof clientReferenceId !== "string") {
    throw new TypeError(`clientReferenceId must be a string, not ${describe(clientReferenceId)}`);
  }
  const ownSubscriptionMetadata = optionalObject(
    subscriptionData?.metadata,
    "subscriptionData.metadata",
  );

  const clickId = getClickId(request);
  /** @type {{ metadata?: Record<string, any>, client_reference_id?: string,
   *   subscription_data?: Record<string, unknown> }} */
  const params = {};
  const sessionMetadata = merged(metadata, clickId, "metadata");
  if (Object.keys(sessionMetadata).length > 0 || metadata !== undefined) {
    params.metadata = sessionMetadata;
  }
  if (typeof clientReferenceId === "string") {
    params.client_reference_id = clientReferenceId;
  } else if (clickId !== null) {
    params.client_reference_id = clickId;
  }
  if (mode === "subscription" && (clickId !== null || subscriptionData !== undefined)) {
    const data = { ...subscriptionData };
    const dataMetadata = merged(ownSubscriptionMetadata, clickId, "subscription_data.metadata");
    if (Object.keys(dataMetadata).length > 0 || ownSubscriptionMetadata !== undefined) {
      data.metadata = dataMetadata;
    }
    params.subscription_data = data;
  }
  return params;
}
