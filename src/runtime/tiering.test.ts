import { test } from "node:test";
import assert from "node:assert/strict";
import { EAGER_MAX_CODE_BYTES, resolveTiering } from "./tiering.js";

void test("auto is eager up to the code-size threshold and lazy above it", () => {
  assert.equal(resolveTiering("auto", 0), "eager");
  assert.equal(resolveTiering("auto", EAGER_MAX_CODE_BYTES), "eager");
  assert.equal(resolveTiering("auto", EAGER_MAX_CODE_BYTES + 1), "lazy");
});

void test("an explicit tier is kept whatever the size", () => {
  assert.equal(resolveTiering("eager", 100 * EAGER_MAX_CODE_BYTES), "eager");
  assert.equal(resolveTiering("lazy", 10), "lazy");
});
