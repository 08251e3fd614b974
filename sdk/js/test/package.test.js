// The package as npm publishes it: its manifest, its entry point by name (through "exports"),
// and hand-written types that declare exactly what the module exports.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const declarations = readFileSync(new URL("../src/index.d.ts", import.meta.url), "utf8");

test("the manifest: an ES module without dependencies, for Node 18 and later", () => {
  assert.equal(manifest.name, "@traaaction/sdk");
  assert.equal(manifest.type, "module");
  assert.equal(manifest.engines.node, ">=18");
  assert.equal(manifest.scripts.test, "node --test");
  for (const kind of ["", "dev", "peer", "optional"]) {
    const field = kind ? `${kind}Dependencies` : "dependencies";
    assert.equal(manifest[field], undefined, field);
  }
  assert.equal(manifest.types, "./src/index.d.ts");
  assert.deepEqual(manifest.exports["."], { types: "./src/index.d.ts", default: "./src/index.js" });
});

test("the package imports by its own name, and says its version", async () => {
  // a package may import itself by name: this resolves through "exports" as a user's would
  const sdk = await import("@traaaction/sdk");
  assert.equal(sdk.VERSION, manifest.version);
  assert.equal(typeof sdk.getClickId, "function");
  assert.equal(typeof sdk.checkoutParams, "function");
});

test("the types declare every export, and nothing that is not one", async () => {
  const sdk = await import("../src/index.js");
  const declared = [
    ...declarations.matchAll(/^export declare (?:const|function|class) (\w+)/gm),
  ].map((match) => match[1]);
  assert.deepEqual([...new Set(declared)].sort(), Object.keys(sdk).sort());
});

test("the declared constants have the module's values", async () => {
  const sdk = await import("../src/index.js");
  for (const name of ["COOKIE_NAME", "QUERY_PARAMETER", "METADATA_KEY"]) {
    assert.match(declarations, new RegExp(`export declare const ${name}: "${sdk[name]}";`));
  }
  const modes = sdk.MODES.map((mode) => `"${mode}"`).join(", ");
  assert.ok(declarations.includes(`export declare const MODES: readonly [${modes}];`));
});
