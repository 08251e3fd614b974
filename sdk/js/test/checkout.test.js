// checkoutParams: what it adds to stripe.checkout.sessions.create, how it merges the
// merchant's own fields, and what it refuses. The same rules as the Python SDK's checkout.py.

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { ClickIdConflict, METADATA_KEY, MODES, checkoutParams } from "../src/index.js";

const CLICK_A = "clk_abcdefghijklmnopqrstuvwxyz";
const CLICK_B = "clk_234567abcdefghijklmnopqrst";

/** A Fetch API Request naming `clickId` in its cookie, or no click at all. */
const requestWith = (clickId) =>
  new Request("https://shop.example/checkout", {
    method: "POST",
    headers: clickId === null ? {} : { cookie: `trac_click_id=${clickId}` },
  });
const clicked = requestWith(CLICK_A);
const unclicked = requestWith(null);

test("the constants are the service's", () => {
  assert.equal(METADATA_KEY, "tracClickId");
  assert.deepEqual([...MODES], ["payment", "subscription", "setup"]);
  assert.ok(Object.isFrozen(MODES));
});

describe("with a click", () => {
  test("payment (the default mode): the session's metadata and client_reference_id", () => {
    const expected = { metadata: { tracClickId: CLICK_A }, client_reference_id: CLICK_A };
    assert.deepEqual(checkoutParams(clicked), expected);
    assert.deepEqual(checkoutParams(clicked, { mode: "payment" }), expected);
    assert.deepEqual(checkoutParams(clicked, { mode: "setup" }), expected);
  });

  test("subscription: the subscription's metadata too, for the renewals", () => {
    assert.deepEqual(checkoutParams(clicked, { mode: "subscription" }), {
      metadata: { tracClickId: CLICK_A },
      client_reference_id: CLICK_A,
      subscription_data: { metadata: { tracClickId: CLICK_A } },
    });
  });

  test("the merchant's own fields come back merged, and are not changed", () => {
    const metadata = Object.freeze({ order: "42" });
    const subscriptionMetadata = Object.freeze({ plan: "pro" });
    const subscriptionData = Object.freeze({
      trial_period_days: 14,
      metadata: subscriptionMetadata,
    });
    const params = checkoutParams(clicked, { mode: "subscription", metadata, subscriptionData });
    assert.deepEqual(params, {
      metadata: { order: "42", tracClickId: CLICK_A },
      client_reference_id: CLICK_A,
      subscription_data: { trial_period_days: 14, metadata: { plan: "pro", tracClickId: CLICK_A } },
    });
    assert.notEqual(params.metadata, metadata);
    assert.notEqual(params.subscription_data, subscriptionData);
  });

  test("the merchant's client_reference_id is kept as it is, even empty", () => {
    assert.deepEqual(checkoutParams(clicked, { clientReferenceId: "user_7" }), {
      metadata: { tracClickId: CLICK_A },
      client_reference_id: "user_7",
    });
    assert.equal(checkoutParams(clicked, { clientReferenceId: "" }).client_reference_id, "");
  });

  test("the same click id already in the metadata is no conflict", () => {
    const params = checkoutParams(clicked, {
      mode: "subscription",
      metadata: { tracClickId: CLICK_A },
      subscriptionData: { metadata: { tracClickId: CLICK_A } },
    });
    assert.equal(params.metadata?.tracClickId, CLICK_A);
    assert.equal(params.subscription_data?.metadata?.tracClickId, CLICK_A);
  });

  test("an empty tracClickId of the merchant's still conflicts; null or undefined do not", () => {
    const empty = { metadata: { tracClickId: "" } };
    assert.throws(() => checkoutParams(clicked, empty), ClickIdConflict);
    for (const absent of [null, undefined]) {
      const metadata = /** @type {Record<string, string>} */ ({ tracClickId: absent });
      assert.equal(checkoutParams(clicked, { metadata }).metadata?.tracClickId, CLICK_A);
    }
  });

  test("a different click id in the merchant's metadata: ClickIdConflict, named", () => {
    assert.throws(
      () => checkoutParams(clicked, { metadata: { tracClickId: CLICK_B } }),
      (error) => {
        assert.ok(error instanceof ClickIdConflict);
        assert.ok(error instanceof Error);
        assert.equal(error.name, "ClickIdConflict");
        assert.match(error.message, /^metadata already has tracClickId="clk_234567/);
        return true;
      },
    );
    assert.throws(
      () =>
        checkoutParams(clicked, {
          mode: "subscription",
          subscriptionData: { metadata: { tracClickId: CLICK_B } },
        }),
      { name: "ClickIdConflict", message: /^subscription_data\.metadata already has/ },
    );
  });
});

describe("without a click", () => {
  test("nothing, so that the spread is always safe", () => {
    for (const mode of MODES) assert.deepEqual(checkoutParams(unclicked, { mode }), {});
    assert.deepEqual(checkoutParams(null), {});
    assert.deepEqual(checkoutParams({ headers: { get: () => { throw new Error("x"); } } }), {});
  });

  test("the merchant's own fields as they were given", () => {
    assert.deepEqual(checkoutParams(unclicked, { metadata: {} }), { metadata: {} });
    assert.deepEqual(
      checkoutParams(unclicked, {
        mode: "subscription",
        metadata: { tracClickId: CLICK_B },
        subscriptionData: { trial_period_days: 7 },
        clientReferenceId: "user_7",
      }),
      {
        metadata: { tracClickId: CLICK_B },
        client_reference_id: "user_7",
        subscription_data: { trial_period_days: 7 },
      },
    );
    for (const metadata of [null, {}]) {
      const options = { mode: "subscription", subscriptionData: { metadata } };
      const params = checkoutParams(unclicked, /** @type {any} */ (options));
      assert.deepEqual(params, { subscription_data: { metadata } });
      // a copy, as with a click: changing the result never changes the merchant's object
      if (metadata !== null) assert.notEqual(params.subscription_data?.metadata, metadata);
    }
  });
});

describe("what it refuses, click or not", () => {
  for (const request of [clicked, unclicked]) {
    const label = request === clicked ? "with a click" : "without one";

    test(`an unknown mode (${label})`, () => {
      for (const mode of ["Payment", "", null, 1]) {
        assert.throws(
          () => checkoutParams(request, /** @type {any} */ ({ mode })),
          { name: "TypeError", message: /^mode must be one of payment, subscription, setup/ },
        );
      }
    });

    test(`subscriptionData outside mode subscription (${label})`, () => {
      for (const mode of ["payment", "setup", undefined]) {
        assert.throws(() => checkoutParams(request, { mode, subscriptionData: {} }), {
          name: "TypeError",
          message: /^subscriptionData is for mode "subscription"/,
        });
      }
    });

    test(`an unknown option, such as Stripe's own snake_case name (${label})`, () => {
      const options = /** @type {any} */ ({ mode: "subscription", subscription_data: {} });
      assert.throws(() => checkoutParams(request, options), {
        name: "TypeError",
        message: /^unknown option "subscription_data"/,
      });
    });

    test(`values of the wrong type (${label})`, () => {
      for (const options of [
        "payment",
        [],
        { metadata: [] },
        { metadata: "a=b" },
        { clientReferenceId: 42 },
        { mode: "subscription", subscriptionData: "x" },
        { mode: "subscription", subscriptionData: { metadata: ["x"] } },
      ]) {
        assert.throws(() => checkoutParams(request, /** @type {any} */ (options)), TypeError);
      }
    });
  }
});
