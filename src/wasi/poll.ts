// poll_oneoff. Clock subscriptions sleep (relative or ABSTIME, on any clock, measured against the
// monotonic clock); fd subscriptions never block: regular files are always ready (fd_read reports the
// bytes left before the end), and stdio streams are reported ready, since every read and write we do
// is synchronous anyway. An fd that is bad or lacks POLL_FD_READWRITE yields an event carrying the
// errno, as the spec asks, rather than failing the whole call.
import { ERRNO, errnoOf, wasiError } from "../errors.js";
import { clockNow, sleepUntil } from "./clocks.js";
import {
  CLOCKID_MONOTONIC,
  EVENT,
  EVENTTYPE_CLOCK,
  EVENTTYPE_FD_READ,
  EVENTTYPE_FD_WRITE,
  RIGHTS_POLL_FD_READWRITE,
  SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME,
  SUBSCRIPTION,
} from "./constants.js";
import type { FdEntry, FdTable } from "./fd-table.js";
import type { GuestMemory } from "./memory.js";

interface Event {
  userdata: bigint;
  error: number;
  type: number;
  nbytes: bigint;
}

interface ClockWait {
  userdata: bigint;
  /** Monotonic ns at which the subscription fires. */
  deadline: bigint;
}

/** Returns the number of events written to `outPtr`. */
export function pollOneoff(
  mem: GuestMemory,
  fds: FdTable,
  inPtr: number,
  outPtr: number,
  nsubscriptions: number,
): number {
  const n = nsubscriptions >>> 0;
  if (n === 0) throw wasiError("INVAL", "poll_oneoff with no subscriptions");
  mem.checkArray(inPtr, n, SUBSCRIPTION.size);
  mem.checkArray(outPtr, n, EVENT.size);

  const start = clockNow(CLOCKID_MONOTONIC);
  const events: Event[] = [];
  const waits: ClockWait[] = [];
  // Every subscription is read before any event is written, in case the two arrays overlap.
  for (let i = 0; i < n; i++) {
    const s = (inPtr >>> 0) + i * SUBSCRIPTION.size;
    const userdata = mem.u64At(s + SUBSCRIPTION.userdata.offset);
    const tag = mem.u8At(s + SUBSCRIPTION.tag.offset);
    switch (tag) {
      case EVENTTYPE_CLOCK: {
        const id = mem.u32At(s + SUBSCRIPTION.clock_id.offset);
        const timeout = mem.u64At(s + SUBSCRIPTION.clock_timeout.offset);
        const flags = mem.u16At(s + SUBSCRIPTION.clock_flags.offset);
        try {
          if ((flags & ~SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0) throw wasiError("INVAL");
          const absolute = (flags & SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME) !== 0;
          const now = clockNow(id); // also rejects an unknown clock id
          waits.push({ userdata, deadline: start + (absolute ? timeout - now : timeout) });
        } catch (e) {
          events.push({ userdata, error: errnoOf(e), type: tag, nbytes: 0n });
        }
        break;
      }
      case EVENTTYPE_FD_READ:
      case EVENTTYPE_FD_WRITE: {
        const fd = mem.u32At(s + SUBSCRIPTION.fd_readwrite_file_descriptor.offset);
        try {
          const entry = fds.get(fd, RIGHTS_POLL_FD_READWRITE);
          const nbytes = tag === EVENTTYPE_FD_READ ? readable(entry) : 0n;
          events.push({ userdata, error: ERRNO.SUCCESS, type: tag, nbytes });
        } catch (e) {
          events.push({ userdata, error: errnoOf(e), type: tag, nbytes: 0n });
        }
        break;
      }
      default:
        throw wasiError("INVAL", "unknown subscription type");
    }
  }

  // Nothing ready yet: sleep until the first clock fires.
  if (events.length === 0) {
    let first = (waits[0] as ClockWait).deadline;
    for (const w of waits) if (w.deadline < first) first = w.deadline;
    sleepUntil(first);
  }
  if (waits.length > 0) {
    const now = clockNow(CLOCKID_MONOTONIC);
    for (const w of waits) {
      if (w.deadline <= now) {
        events.push({ userdata: w.userdata, error: ERRNO.SUCCESS, type: EVENTTYPE_CLOCK, nbytes: 0n });
      }
    }
  }

  events.forEach((ev, i) => {
    const at = (outPtr >>> 0) + i * EVENT.size;
    mem.bytes(at, EVENT.size).fill(0);
    mem.setU64(at + EVENT.userdata.offset, ev.userdata);
    mem.setU16(at + EVENT.error.offset, ev.error);
    mem.setU8(at + EVENT.type.offset, ev.type);
    mem.setU64(at + EVENT.fd_readwrite_nbytes.offset, ev.nbytes);
  });
  return events.length;
}

/** Bytes left before the end of a regular file; 0 for streams and directories. */
function readable(entry: FdEntry): bigint {
  if (entry.kind !== "file" || !entry.handle.seekable) return 0n;
  const left = entry.handle.stat().size - entry.position;
  return left > 0n ? left : 0n;
}
