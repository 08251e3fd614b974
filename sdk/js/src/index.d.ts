// Hand-written types for @traaaction/sdk (src/index.js). No dependency on @types/node: a
// request is typed `unknown`, since getClickId accepts anything and answers null for what it
// does not know.

/** The first-party cookie that Traaaction's trac.js writes on the merchant's pages. */
export declare const COOKIE_NAME: "trac_click_id";
/** The query parameter that Traaaction's /r/{key} redirect adds to the partner's destination. */
export declare const QUERY_PARAMETER: "trac_click_id";
/** The metadata key the service reads on sessions, subscriptions and invoices. */
export declare const METADATA_KEY: "tracClickId";
/** Stripe's Checkout modes. */
export declare const MODES: readonly ["payment", "subscription", "setup"];
/** This package's version. */
export declare const VERSION: string;

/** One of Stripe's Checkout modes. */
export type CheckoutMode = (typeof MODES)[number];

/** True for a string that is a well-formed click id ("clk_" and 26 of a-z, 2-7). */
export declare function isClickId(value: unknown): value is string;

/**
 * The visitor's click id: the `trac_click_id` cookie, else the `trac_click_id` query
 * parameter; null when neither holds a well-formed one.
 *
 * `request` is a Node `http.IncomingMessage`, an Express request (its raw Cookie header and
 * URL first, then `req.cookies` and `req.query`) or a Fetch API `Request` (Next.js route
 * handlers). Anything else gives null: this never throws.
 */
export declare function getClickId(request: unknown): string | null;

/** Stripe metadata: string keys and values. */
export type Metadata = Record<string, string>;

/** `subscription_data` as stripe-node takes it; `metadata` is merged with the click's. */
export interface SubscriptionData {
  metadata?: Metadata | null;
  [key: string]: unknown;
}

export interface CheckoutOptions {
  /** The session's mode (default "payment"); "subscription" also tags the subscription. */
  mode?: CheckoutMode;
  /** Your own session metadata, returned merged with the click's. */
  metadata?: Metadata | null;
  /** Your own subscription_data (mode "subscription" only), returned merged. */
  subscriptionData?: SubscriptionData | null;
  /** Your own client_reference_id, kept as it is (the click still rides in the metadata). */
  clientReferenceId?: string | null;
}

/** The fields to spread into `stripe.checkout.sessions.create({...})`; only those set. */
export interface CheckoutParams {
  metadata?: Metadata;
  client_reference_id?: string;
  subscription_data?: SubscriptionData & { metadata?: Metadata };
}

/** The merchant's own metadata already names a different click than the request's. */
export declare class ClickIdConflict extends Error {
  constructor(message: string);
  name: "ClickIdConflict";
}

/**
 * The click's fields for `stripe.checkout.sessions.create({...checkoutParams(req), ...})`:
 * `metadata.tracClickId` and `client_reference_id`, and in mode "subscription" also
 * `subscription_data.metadata.tracClickId`; an empty object when the request names no click.
 *
 * @throws {ClickIdConflict} your own `tracClickId` differs from the request's
 * @throws {TypeError} an unknown mode or option, `subscriptionData` outside mode
 *   "subscription", or a value of the wrong type
 */
export declare function checkoutParams(request: unknown, options?: CheckoutOptions): CheckoutParams;
