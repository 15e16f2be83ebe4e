// Times for the mounts: a nanosecond wall clock and the one reading of a witx fstflags-style TimeSpec.
import type { TimeSpec } from "./types.js";

// hrtime is monotonic with ns resolution; anchoring it once to Date.now() gives ns wall-clock times.
const hrtimeOffset = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

export function wallClockNs(): bigint {
  return process.hrtime.bigint() + hrtimeOffset;
}

export function applyTimeSpec(spec: TimeSpec, current: bigint, now: bigint): bigint {
  switch (spec.kind) {
    case "omit":
      return current;
    case "now":
      return now;
    case "set":
      return spec.ns;
  }
}
