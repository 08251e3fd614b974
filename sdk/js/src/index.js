// Traaaction's merchant SDK for Node: the visitor's click id, and the Stripe Checkout fields
// that carry it to the partner's commission.
//
//   import { checkoutParams } from "@traaaction/sdk";
//   const params = { mode: "payment", line_items, success_url, ...checkoutParams(req) };
//   const session = await stripe.checkout.sessions.create(params);
//
// The behaviour is the Python SDK's (sdk/python), and both are tested on one table of
// requests (test/cases.json, from tests/sdk/cases.py).

export { COOKIE_NAME, QUERY_PARAMETER, isClickId } from "./click-ids.js";
export { ClickIdConflict, METADATA_KEY, MODES, checkoutParams, getClickId } from "./checkout.js";

/** This package's version, as in package.json. */
export const VERSION = "0.1.0";
