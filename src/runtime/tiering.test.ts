import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { EAGER_MAX_CODE_BYTES, resolveTiering } from "./tiering.js";
import { commandModule } from "./test-module-builder.js";

void test("auto is eager up to the code-size threshold and lazy above it", () => {
  assert.equal(resolveTiering("auto", 0), "eager");
  assert.equal(resolveTiering("auto", EAGER_MAX_CODE_BYTES), "eager");
  assert.equal(resolveTiering("auto", EAGER_MAX_CODE_BYTES + 1), "lazy");
});

void test("an explicit tier is kept whatever the size", () => {
  assert.equal(resolveTiering("eager", 100 * EAGER_MAX_CODE_BYTES), "eager");
  assert.equal(resolveTiering("lazy", 10), "lazy");
});

void test("V8 honours the flags, and the same module alternating tiers in one process is recompiled", () => {
  // V8's natives tell which tier compiled a function; they need their own process and flag.
  const script = `
    import { applyTiering, tagWithTier } from ${JSON.stringify(new URL("./tiering.js", import.meta.url).href)};
    const bytes = new Uint8Array(${JSON.stringify([...commandModule()])});
    for (const tier of ["eager", "lazy", "eager", "lazy"]) {
      applyTiering(tier);
      const instance = await WebAssembly.instantiate(await WebAssembly.compile(tagWithTier(bytes, tier)), {});
      const f = instance.exports.grow;
      f(0);
      console.log(tier, %IsTurboFanFunction(f) ? "turbofan" : %IsLiftoffFunction(f) ? "liftoff" : "other");
    }`;
  const out = execFileSync(
    process.execPath,
    ["--allow-natives-syntax", "--input-type=module", "-e", script],
    {
      encoding: "utf8",
    },
  );
  assert.equal(out, "eager turbofan\nlazy liftoff\neager turbofan\nlazy liftoff\n");
});
