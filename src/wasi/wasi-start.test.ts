import { test } from "node:test";
import assert from "node:assert/strict";
import { isTwineError } from "../errors.js";
import * as C from "./constants.js";
import { buildModule, instantiate } from "./test-kit.js";
import { Wasi } from "./wasi.js";

const I32_CONST = 0x41;
const CALL = 0x10;
const UNREACHABLE = 0x00;

/** Runs a `_start` body with the given imports; returns start()'s result or its error. */
function run(imports: { name: string; type: 0 | 1 | 2 }[], code: number[]): unknown {
  const wasi = new Wasi();
  try {
    return wasi.start(instantiate(buildModule(1, { imports, code }), wasi));
  } catch (e) {
    return e;
  } finally {
    wasi.close();
  }
}

const exitWith = (n: number) => run([{ name: "proc_exit", type: 1 }], [I32_CONST, n, CALL, 0]);
/** proc_raise(sig), then proc_exit(its errno). */
const raise = (sig: number) =>
  run(
    [
      { name: "proc_raise", type: 2 },
      { name: "proc_exit", type: 1 },
    ],
    [I32_CONST, sig, CALL, 0, CALL, 1],
  );

void test("start returns 0 when _start returns, proc_exit's code otherwise", () => {
  assert.equal(run([], []), 0);
  assert.equal(exitWith(42), 42);
  assert.equal(exitWith(0), 0);
});

void test("a trap becomes run.trap; stack exhaustion too", () => {
  const trap = run([], [UNREACHABLE]);
  assert.ok(isTwineError(trap, "run.trap"), String(trap));
  // _start (function 0 here) calling itself forever.
  const overflow = run([], [CALL, 0]);
  assert.ok(isTwineError(overflow, "run.trap"), String(overflow));
});

void test("proc_raise: terminating signals exit 128 + Linux number, ignored ones succeed, invalid is INVAL", () => {
  assert.equal(raise(C.SIGNAL.ABRT), 128 + 6);
  assert.equal(raise(C.SIGNAL.TERM), 128 + 15);
  assert.equal(raise(C.SIGNAL.XCPU), 128 + 24, "WASI 23 is Linux SIGXCPU 24");
  assert.equal(raise(C.SIGNAL.CHLD), 0);
  assert.equal(raise(C.SIGNAL.WINCH), 0);
  assert.equal(raise(C.SIGNAL.URG), 0);
  assert.equal(raise(31), 28);
  assert.equal(raise(40), 28);
});

void test("start requires memory and _start; runs only once; initialize refuses a command", () => {
  const wasi = new Wasi();
  try {
    const noStart = instantiate(buildModule(1), wasi);
    assert.throws(
      () => wasi.start(noStart),
      (e) => isTwineError(e, "module.link"),
    );
    assert.throws(
      () => wasi.start({ exports: { _start: () => {} } }),
      (e) => isTwineError(e, "module.link"),
    );
    const cmd = instantiate(buildModule(1, { imports: [], code: [] }), wasi);
    assert.throws(
      () => wasi.initialize(cmd),
      (e) => isTwineError(e, "module.link"),
    );
    wasi.initialize(noStart);
    assert.throws(
      () => wasi.initialize(noStart),
      (e) => isTwineError(e, "run.already_started"),
    );
  } finally {
    wasi.close();
  }
});

void test("close() closes every fd: later calls are BADF", () => {
  const wasi = new Wasi();
  wasi.close();
  assert.equal(wasi.wasiImport.fd_close(1), 8);
});
