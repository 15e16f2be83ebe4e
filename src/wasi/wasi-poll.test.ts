import { test } from "node:test";
import assert from "node:assert/strict";
import { ERRNO } from "../errors.js";
import { MemMount } from "../vfs/mem.js";
import * as C from "./constants.js";
import { type Harness, withMount } from "./test-kit.js";

type Sub =
  | { userdata: bigint; clock: { id: number; timeout: bigint; abstime?: boolean } }
  | { userdata: bigint; fd: number; type: typeof C.EVENTTYPE_FD_READ | typeof C.EVENTTYPE_FD_WRITE };

function subscriptions(h: Harness, subs: Sub[]): number {
  const p = h.alloc(subs.length * C.SUBSCRIPTION.size);
  const v = h.view;
  subs.forEach((s, i) => {
    const at = p + i * C.SUBSCRIPTION.size;
    v.setBigUint64(at, s.userdata, true);
    if ("clock" in s) {
      v.setUint8(at + 8, C.EVENTTYPE_CLOCK);
      v.setUint32(at + 16, s.clock.id, true);
      v.setBigUint64(at + 24, s.clock.timeout, true);
      v.setUint16(at + 40, s.clock.abstime === true ? C.SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME : 0, true);
    } else {
      v.setUint8(at + 8, s.type);
      v.setUint32(at + 16, s.fd, true);
    }
  });
  return p;
}

interface Ev {
  userdata: bigint;
  error: number;
  type: number;
  nbytes: bigint;
}

function poll(h: Harness, subs: Sub[]): { errno: number; events: Ev[]; ms: number } {
  const inp = subscriptions(h, subs);
  const out = h.alloc(subs.length * C.EVENT.size);
  const n = h.alloc(4);
  const t0 = performance.now();
  const errno = h.imp.poll_oneoff(inp, out, subs.length, n);
  const ms = performance.now() - t0;
  const events = Array.from({ length: errno === 0 ? h.u32(n) : 0 }, (_, i) => {
    const at = out + i * C.EVENT.size;
    return {
      userdata: h.u64(at),
      error: h.view.getUint16(at + 8, true),
      type: h.u8[at + 10] as number,
      nbytes: h.u64(at + 16),
    };
  });
  return { errno, events, ms };
}

void test("poll_oneoff sleeps for a 20 ms relative clock", () => {
  const h = withMount(new MemMount());
  try {
    const r = poll(h, [{ userdata: 7n, clock: { id: C.CLOCKID_MONOTONIC, timeout: 20_000_000n } }]);
    assert.equal(r.errno, ERRNO.SUCCESS);
    assert.deepEqual(r.events, [{ userdata: 7n, error: 0, type: C.EVENTTYPE_CLOCK, nbytes: 0n }]);
    assert.ok(r.ms >= 19.5, `slept ${r.ms} ms`);
    assert.ok(r.ms < 1000, `slept ${r.ms} ms`);
  } finally {
    h.close();
  }
});

void test("poll_oneoff: ABSTIME clocks, and only the earliest of two clocks fires", () => {
  const h = withMount(new MemMount());
  try {
    const now = process.hrtime.bigint();
    const r = poll(h, [
      { userdata: 1n, clock: { id: C.CLOCKID_MONOTONIC, timeout: now + 20_000_000n, abstime: true } },
      { userdata: 2n, clock: { id: C.CLOCKID_MONOTONIC, timeout: 5_000_000_000n } },
    ]);
    assert.equal(r.errno, ERRNO.SUCCESS);
    assert.deepEqual(
      r.events.map((e) => e.userdata),
      [1n],
    );
    assert.ok(r.ms >= 15 && r.ms < 1000, `slept ${r.ms} ms`);
    // A deadline in the past fires at once.
    const past = poll(h, [{ userdata: 3n, clock: { id: C.CLOCKID_REALTIME, timeout: 1n, abstime: true } }]);
    assert.deepEqual(
      past.events.map((e) => e.userdata),
      [3n],
    );
    assert.ok(past.ms < 50);
  } finally {
    h.close();
  }
});

void test("poll_oneoff: fd subscriptions are ready at once; file reports bytes left; bad fd → BADF event", () => {
  const h = withMount(new MemMount());
  try {
    const [, fd] = h.open(3, "f", { oflags: C.OFLAGS_CREAT, base: C.RIGHTS_FILE_BASE });
    h.write(fd, "0123456789");
    const pos = h.alloc(8);
    h.imp.fd_seek(fd, 4n, C.WHENCE_SET, pos);
    const r = poll(h, [
      { userdata: 1n, clock: { id: C.CLOCKID_MONOTONIC, timeout: 10_000_000_000n } },
      { userdata: 2n, fd, type: C.EVENTTYPE_FD_READ },
      { userdata: 3n, fd, type: C.EVENTTYPE_FD_WRITE },
      { userdata: 4n, fd: 1, type: C.EVENTTYPE_FD_WRITE },
      { userdata: 5n, fd: 99, type: C.EVENTTYPE_FD_READ },
      { userdata: 6n, clock: { id: 9, timeout: 0n } },
    ]);
    assert.equal(r.errno, ERRNO.SUCCESS);
    assert.ok(r.ms < 1000, "did not wait for the clock");
    assert.deepEqual(r.events, [
      { userdata: 2n, error: 0, type: C.EVENTTYPE_FD_READ, nbytes: 6n },
      { userdata: 3n, error: 0, type: C.EVENTTYPE_FD_WRITE, nbytes: 0n },
      { userdata: 4n, error: 0, type: C.EVENTTYPE_FD_WRITE, nbytes: 0n },
      { userdata: 5n, error: ERRNO.BADF, type: C.EVENTTYPE_FD_READ, nbytes: 0n },
      { userdata: 6n, error: ERRNO.INVAL, type: C.EVENTTYPE_CLOCK, nbytes: 0n },
    ]);
  } finally {
    h.close();
  }
});

void test("poll_oneoff errors: no subscriptions, bad arrays, unknown tag", () => {
  const h = withMount(new MemMount());
  try {
    const n = h.alloc(4);
    assert.equal(h.imp.poll_oneoff(h.alloc(48), h.alloc(32), 0, n), ERRNO.INVAL);
    const end = h.memory.buffer.byteLength;
    assert.equal(h.imp.poll_oneoff(end - 40, h.alloc(32), 1, n), ERRNO.FAULT);
    assert.equal(h.imp.poll_oneoff(h.alloc(48), end - 16, 1, n), ERRNO.FAULT);
    assert.equal(h.imp.poll_oneoff(0, 0, 0x1000_0000, n), ERRNO.FAULT);
    const bad = h.alloc(48);
    h.u8[bad + 8] = 3;
    assert.equal(h.imp.poll_oneoff(bad, h.alloc(32), 1, n), ERRNO.INVAL);
  } finally {
    h.close();
  }
});
