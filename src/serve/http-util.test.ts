import { test } from "node:test";
import assert from "node:assert/strict";
import { TwineError, isTwineError } from "../errors.js";
import { httpStatusOf, pathComponents } from "./http-util.js";

void test("pathComponents decodes each component and drops empty ones", () => {
  assert.deepEqual(pathComponents("/v1/jobs/ab/files/data/a%20b.csv?x=1"), [
    "v1",
    "jobs",
    "ab",
    "files",
    "data",
    "a b.csv",
  ]);
  assert.deepEqual(pathComponents("//v1///info"), ["v1", "info"]);
  assert.deepEqual(pathComponents("/v1/jobs/../info"), ["v1", "jobs", "..", "info"]);
  // An encoded "/" or ".." stays one component, for the guest path check to refuse.
  assert.deepEqual(pathComponents("/files/a%2Fb/%2e%2e"), ["files", "a/b", ".."]);
  assert.throws(
    () => pathComponents("/v1/%E0%A4%A"),
    (e: unknown) => isTwineError(e, "serve.bad_request"),
  );
});

void test("httpStatusOf: client errors 4xx, volume errnos 400/404/409, everything else 500", () => {
  const s = (code: TwineError["code"]): number => httpStatusOf(new TwineError(code, "x"));
  assert.equal(s("serve.no_job"), 404);
  assert.equal(s("serve.state"), 409);
  assert.equal(s("serve.too_large"), 413);
  assert.equal(s("serve.full"), 503);
  assert.equal(s("wasi.noent"), 404);
  assert.equal(s("wasi.nametoolong"), 400);
  assert.equal(s("pfs.integrity"), 500);
  assert.equal(httpStatusOf(new Error("host path leak")), 500);
});
