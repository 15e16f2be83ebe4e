import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.js";
import { launchManifest } from "./manifest.js";
import type { LaunchInput } from "./manifest.js";
import { libratsReportData, runtimeReportData } from "./report-data.js";

const BASE: LaunchInput = {
  moduleHash: new Uint8Array(32).fill(0xab),
  args: ["--n", "3"],
  env: { B: "2", A: "1" },
  mounts: [
    { type: "host", guestPath: "/in", readonly: true },
    { type: "pfs", guestPath: "/data", key: "sealed" },
  ],
  limits: { maxMemoryBytes: 64 << 20 },
  seal: "program",
};

void test("canonical JSON: sorted keys, no whitespace, safe integers only", () => {
  assert.equal(
    canonicalJson({ b: [1, "x\n"], a: null, c: { z: true, y: false } }),
    '{"a":null,"b":[1,"x\\n"],"c":{"y":false,"z":true}}',
  );
  assert.throws(() => canonicalJson({ x: 1.5 }), { code: "tee.manifest" });
  assert.throws(() => canonicalJson({ x: 2 ** 53 }), { code: "tee.manifest" });
});

void test("launch manifest: exact canonical text, and its hash is SHA-256 of that text", () => {
  const m = launchManifest(BASE);
  assert.equal(
    m.json,
    '{"args":["--n","3"],"env":{"A":"1","B":"2"},"limits":{"maxMemoryBytes":67108864,"maxOpenFds":null,"timeoutMs":null},' +
      '"module":{"sha256":"' +
      "ab".repeat(32) +
      '"},"mounts":[{"guestPath":"/in","readonly":true,"type":"host"},' +
      '{"guestPath":"/data","key":"sealed","type":"pfs"}],"provision":null,"tee":{"seal":"program"},"twineLaunchManifest":1}',
  );
  assert.equal(Buffer.from(m.hash).toString("hex"), createHash("sha256").update(m.json).digest("hex"));
});

void test("launch manifest: every input changes the hash; env order does not", () => {
  const h = (i: LaunchInput): string => Buffer.from(launchManifest(i).hash).toString("hex");
  const base = h(BASE);
  assert.equal(h({ ...BASE, env: { A: "1", B: "2" } }), base);
  const variants: LaunchInput[] = [
    { ...BASE, moduleHash: new Uint8Array(32) },
    { ...BASE, args: ["--n", "4"] },
    { ...BASE, args: ["--n3"] },
    { ...BASE, env: { A: "1" } },
    { ...BASE, mounts: [...BASE.mounts].reverse() },
    { ...BASE, mounts: [{ type: "host", guestPath: "/in", readonly: false }] },
    { ...BASE, limits: {} },
    { ...BASE, limits: { maxMemoryBytes: 64 << 20, timeoutMs: 1000 } },
    { ...BASE, seal: "signer" },
    { ...BASE, seal: null },
    { ...BASE, provision: { serverSha256: new Uint8Array(32).fill(1) } },
    { ...BASE, provision: { serverSha256: new Uint8Array(32).fill(2) } },
  ];
  const hashes = new Set(variants.map(h));
  assert.equal(hashes.size, variants.length);
  assert.ok(!hashes.has(base));
  assert.throws(() => launchManifest({ ...BASE, moduleHash: new Uint8Array(31) }), { code: "tee.manifest" });
});

void test("report data: launch hash in the first half, nonce and runtime key bound in the second", () => {
  const launchHash = new Uint8Array(32).fill(9);
  const rd = runtimeReportData({ launchHash, nonce: Uint8Array.of(1, 2), runtimeKey: Uint8Array.of(3) });
  assert.equal(rd.length, 64);
  assert.deepEqual(rd.subarray(0, 32), launchHash);
  const expect = createHash("sha256")
    .update("twine/report-data/v1")
    .update(Uint8Array.of(0, 0, 0, 2, 1, 2, 0, 0, 0, 1, 3))
    .digest();
  assert.deepEqual(Buffer.from(rd.subarray(32)), expect);
  // Moving a byte between nonce and key changes the binding (length prefixes).
  const moved = runtimeReportData({ launchHash, nonce: Uint8Array.of(1), runtimeKey: Uint8Array.of(2, 3) });
  assert.notDeepEqual(moved, rd);
  assert.throws(
    () => runtimeReportData({ launchHash, nonce: new Uint8Array(5000), runtimeKey: new Uint8Array(1) }),
    { code: "tee.report_data" },
  );
});

void test("report data: lib-rats layout is SHA-256(SHA-256(module) || buffer) then zeros", () => {
  const mh = createHash("sha256").update("module").digest();
  const rd = libratsReportData(mh, Buffer.from("hello"));
  assert.deepEqual(Buffer.from(rd.subarray(0, 32)), createHash("sha256").update(mh).update("hello").digest());
  assert.deepEqual(rd.subarray(32), new Uint8Array(32));
});
