// The README's three examples, as a merchant would paste them: each is run against a
// stand-in for stripe-node (and for http's server and Express's app, which only hand over the
// handler), and must create a session that carries the visitor's click, then redirect to it.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";

const CLICK_A = "clk_abcdefghijklmnopqrstuvwxyz";
const SESSION_URL = "https://checkout.stripe.com/c/pay/cs_test_1";
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const examples = Object.fromEntries(
  [...readme.matchAll(/^## (.+)\n\n```js\n([\s\S]*?)```/gm)].map((match) => [match[1], match[2]]),
);
const directory = mkdtempSync(join(tmpdir(), "traaaction-readme-"));
after(() => rmSync(directory, { recursive: true, force: true }));

/** @type {Record<string, unknown>[]} */
const created = [];
/** @type {Function[]} */
const handlers = [];
Object.assign(globalThis, {
  line_items: [{ price: "price_1", quantity: 1 }],
  success_url: "https://shop.example/thanks",
  stripe: {
    checkout: {
      sessions: {
        create: async (params) => {
          created.push(params);
          return { id: "cs_test_1", url: SESSION_URL };
        },
      },
    },
  },
  http: { createServer: (handler) => (handlers.push(handler), { listen: () => undefined }) },
  app: { post: (_path, handler) => handlers.push(handler) },
});

/**
 * The example as a module of its own, importing this package's source instead of its name.
 * @param {string} title
 */
async function load(title) {
  const source = examples[title];
  assert.ok(source, `the README has no example "${title}"`);
  assert.ok(source.trim().split("\n").length <= 5, `"${title}" is longer than five lines`);
  const file = join(directory, `${Object.keys(examples).indexOf(title)}.mjs`);
  const entry = new URL("../src/index.js", import.meta.url).href;
  writeFileSync(file, source.replace(/from "@traaaction\/sdk"/, `from ${JSON.stringify(entry)}`));
  created.length = 0;
  handlers.length = 0;
  return import(pathToFileURL(file).href);
}

test("the three examples are there", () => {
  assert.deepEqual(Object.keys(examples), [
    "Node's `http`",
    "Express",
    "A Next.js route handler (`app/checkout/route.js`)",
  ]);
});

test("Node's http", async () => {
  await load("Node's `http`");
  const head = [];
  const res = { writeHead: (...args) => (head.push(...args), { end: () => undefined }) };
  await handlers[0]({ headers: { cookie: `trac_click_id=${CLICK_A}` }, url: "/checkout" }, res);
  assert.deepEqual(created, [
    {
      mode: "payment",
      line_items: globalThis.line_items,
      success_url: globalThis.success_url,
      metadata: { tracClickId: CLICK_A },
      client_reference_id: CLICK_A,
    },
  ]);
  assert.deepEqual(head, [303, { location: SESSION_URL }]);
});

test("Express, a subscription", async () => {
  await load("Express");
  const redirects = [];
  const res = { redirect: (...args) => redirects.push(args) };
  await handlers[0]({ headers: {}, url: `/checkout?trac_click_id=${CLICK_A}` }, res);
  assert.equal(created.length, 1);
  assert.equal(created[0].mode, "subscription");
  assert.deepEqual(created[0].subscription_data, { metadata: { tracClickId: CLICK_A } });
  assert.deepEqual(redirects, [[303, SESSION_URL]]);
});

test("a Next.js route handler", async () => {
  const { POST } = await load("A Next.js route handler (`app/checkout/route.js`)");
  const request = new Request("https://shop.example/checkout", {
    method: "POST",
    headers: { cookie: `trac_click_id=${CLICK_A}` },
  });
  const response = await POST(request);
  assert.equal(created[0].client_reference_id, CLICK_A);
  assert.equal(response.status, 303);
  assert.equal(response.headers.get("location"), SESSION_URL);
});
