// The four preview1 clocks and the one way the host sleeps. Sleeping blocks the thread with
// Atomics.wait on a private SharedArrayBuffer that nobody ever notifies: we run in a worker, and a
// synchronous import has no other way to wait without spinning a core.
import { wasiError } from "../errors.js";
import {
  CLOCKID_MONOTONIC,
  CLOCKID_PROCESS_CPUTIME_ID,
  CLOCKID_REALTIME,
  CLOCKID_THREAD_CPUTIME_ID,
} from "./constants.js";

// hrtime has ns resolution; anchoring it once to Date.now() gives a ns wall clock that never jumps
// back within a run (host clock steps are not seen by the guest until the next run).
const realtimeOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Current time of a clock in ns. The CPU-time clocks are the process's user+system time: Node 20
 * has no per-thread CPU clock, so THREAD_CPUTIME_ID reads the same (documented in README).
 */
export function clockNow(id: number): bigint {
  switch (id) {
    case CLOCKID_REALTIME:
      return process.hrtime.bigint() + realtimeOffset;
    case CLOCKID_MONOTONIC:
      return process.hrtime.bigint();
    case CLOCKID_PROCESS_CPUTIME_ID:
    case CLOCKID_THREAD_CPUTIME_ID: {
      const u = process.cpuUsage();
      return BigInt(u.user + u.system) * 1000n;
    }
    default:
      throw wasiError("INVAL", "unknown clock id");
  }
}

/** Resolution in ns: hrtime counts ns; cpuUsage counts µs. */
export function clockRes(id: number): bigint {
  switch (id) {
    case CLOCKID_REALTIME:
    case CLOCKID_MONOTONIC:
      return 1n;
    case CLOCKID_PROCESS_CPUTIME_ID:
    case CLOCKID_THREAD_CPUTIME_ID:
      return 1000n;
    default:
      throw wasiError("INVAL", "unknown clock id");
  }
}

/** Blocks until the monotonic clock reaches `deadline` (ns). */
export function sleepUntil(deadline: bigint): void {
  for (;;) {
    const left = deadline - process.hrtime.bigint();
    if (left <= 0n) return;
    Atomics.wait(sleepCell, 0, 0, Number(left) / 1e6);
  }
}
