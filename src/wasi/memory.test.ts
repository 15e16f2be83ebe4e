import { test } from "node:test";
import assert from "node:assert/strict";
import { isTwineError } from "../errors.js";
import { GuestMemory, IOV_MAX, PATH_MAX, u64 } from "./memory.js";
import { wasm } from "./wasm-types.js";

function setup(pages = 1): { mem: GuestMemory; raw: ReturnType<typeof rawMemory> } {
  const raw = rawMemory(pages);
  const mem = new GuestMemory();
  mem.attach(raw);
  return { mem, raw };
}

function rawMemory(pages: number) {
  return new wasm.Memory({ initial: pages, maximum: 4 });
}

const fault = (e: unknown) => isTwineError(e, "wasi.fault");

void test("before attach every access faults", () => {
  const mem = new GuestMemory();
  assert.throws(() => mem.bytes(0, 1), fault);
  assert.doesNotThrow(() => mem.bytes(0, 0));
});

void test("a range ending exactly at the end is fine; one byte more faults", () => {
  const { mem } = setup();
  assert.equal(mem.bytes(65536 - 4, 4).length, 4);
  assert.doesNotThrow(() => mem.setU32(65536 - 4, 7));
  assert.equal(mem.u32At(65536 - 4), 7);
  assert.throws(() => mem.bytes(65536 - 4, 5), fault);
  assert.throws(() => mem.setU32(65536 - 3, 1), fault);
  assert.throws(() => mem.u64At(65536 - 7), fault);
  assert.throws(() => mem.setU8(65536, 1), fault);
});

void test("negative i32 pointers and lengths are huge u32 values, not negative offsets", () => {
  const { mem } = setup();
  assert.throws(() => mem.bytes(-1, 1), fault);
  assert.throws(() => mem.bytes(0, -1), fault);
  // ptr + len would wrap to a small value in u32 arithmetic: it must not.
  assert.throws(() => mem.bytes(0xffff_fff0, 0x20), fault);
  assert.throws(() => mem.check(0x8000_0000, 0x8000_0000), fault);
});

void test("views follow memory.grow (the old buffer is detached)", () => {
  const { mem, raw } = setup(1);
  assert.throws(() => mem.bytes(65536, 16), fault);
  raw.grow(1);
  mem.setU32(65536 + 8, 0xdeadbeef);
  assert.equal(new DataView(raw.buffer).getUint32(65536 + 8, true), 0xdeadbeef);
  assert.equal(mem.byteLength, 2 * 65536);
});

void test("strings: strict UTF-8 (ILSEQ), length cap (NAMETOOLONG)", () => {
  const { mem, raw } = setup();
  const u8 = new Uint8Array(raw.buffer);
  u8.set(Buffer.from("héllo"), 100);
  assert.equal(mem.string(100, Buffer.byteLength("héllo")), "héllo");
  u8.set([0x61, 0xff, 0x62], 200);
  assert.throws(
    () => mem.string(200, 3),
    (e) => isTwineError(e, "wasi.ilseq"),
  );
  u8.set([0xed, 0xa0, 0x80], 300); // an encoded surrogate is not valid UTF-8
  assert.throws(
    () => mem.string(300, 3),
    (e) => isTwineError(e, "wasi.ilseq"),
  );
  assert.throws(
    () => mem.string(0, PATH_MAX + 1),
    (e) => isTwineError(e, "wasi.nametoolong"),
  );
  assert.throws(() => mem.string(65530, 10), fault);
});

void test("iovecs: the array is bounds-checked before its count is used, then each buffer", () => {
  const { mem, raw } = setup();
  const dv = new DataView(raw.buffer);
  // A count whose array could never fit is FAULT without touching anything.
  assert.throws(() => mem.checkIovecs(0, 0xffff_ffff), fault);
  assert.throws(() => mem.checkIovecs(65536 - 8, 2), fault);
  assert.throws(
    () => mem.checkIovecs(0, IOV_MAX + 1),
    (e) => isTwineError(e, "wasi.inval"),
  );
  dv.setUint32(0, 1000, true);
  dv.setUint32(4, 10, true);
  dv.setUint32(8, 65530, true);
  dv.setUint32(12, 7, true);
  assert.throws(() => mem.checkIovecs(0, 2), fault);
  dv.setUint32(12, 6, true);
  assert.equal(mem.checkIovecs(0, 2), 2);
  assert.equal(mem.iovec(0, 1).byteOffset, 65530);
  assert.equal(mem.iovec(0, 1).length, 6);
  assert.equal(mem.checkIovecs(0, 0), 0);
});

void test("u64 reinterprets a signed BigInt from an i64", () => {
  assert.equal(u64(-1n), 0xffff_ffff_ffff_ffffn);
  assert.equal(u64(5n), 5n);
});
