// args and environ for the guest: encoded once, so `*_sizes_get` and `*_get` read the same bytes and
// can never disagree (the guest allocates from the sizes, then trusts the contents to fit).
import { TwineError } from "../errors.js";
import type { GuestMemory } from "./memory.js";

const encoder = new TextEncoder();

export class StringList {
  /** Every string as UTF-8 followed by NUL, back to back. */
  readonly bytes: Uint8Array;
  /** Offset of each string in `bytes`. */
  private readonly offsets: readonly number[];

  constructor(items: readonly string[]) {
    const encoded = items.map((s) => {
      if (s.includes("\0")) throw new TwineError("cli.usage", "argument or environment entry contains NUL");
      return encoder.encode(s);
    });
    const offsets: number[] = [];
    let size = 0;
    for (const e of encoded) {
      offsets.push(size);
      size += e.byteLength + 1;
    }
    this.bytes = new Uint8Array(size);
    encoded.forEach((e, i) => this.bytes.set(e, offsets[i]));
    this.offsets = offsets;
  }

  /** "KEY=VALUE" entries; a key must be non-empty and contain no "=". */
  static environ(env: Readonly<Record<string, string>>): StringList {
    return new StringList(
      Object.entries(env).map(([k, v]) => {
        if (k === "" || k.includes("="))
          throw new TwineError("cli.usage", "invalid environment variable name");
        return `${k}=${v}`;
      }),
    );
  }

  get count(): number {
    return this.offsets.length;
  }

  /** `*_sizes_get`: the number of strings and the bytes they need, NULs included. */
  sizesGet(mem: GuestMemory, countPtr: number, sizePtr: number): void {
    mem.check(countPtr, 4);
    mem.check(sizePtr, 4);
    mem.setU32(countPtr, this.count);
    mem.setU32(sizePtr, this.bytes.byteLength);
  }

  /** `*_get`: one pointer per string at `ptrsPtr`, the strings at `bufPtr`. Checks both ranges first. */
  get(mem: GuestMemory, ptrsPtr: number, bufPtr: number): void {
    mem.checkArray(ptrsPtr, this.count, 4);
    const buf = mem.bytes(bufPtr, this.bytes.byteLength);
    const base = bufPtr >>> 0;
    this.offsets.forEach((off, i) => mem.setU32((ptrsPtr >>> 0) + i * 4, base + off));
    buf.set(this.bytes);
  }
}
