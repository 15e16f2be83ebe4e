// Random calls to every import (except proc_exit/proc_raise, which end the guest, and poll_oneoff,
// whose random clocks could sleep for ages) over a MemMount: each must return an errno, never throw,
// and no path component that could escape may ever reach the mount. TWINE_WASI_FUZZ=<calls> for
// a longer campaign (default 10000).
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemMount } from "../vfs/mem.js";
import type { Mount } from "../vfs/types.js";
import * as C from "./constants.js";
import { withMount } from "./test-kit.js";

/** Positions of the u64 (BigInt) parameters of each import that has any. */
const BIGINT_PARAMS: Record<string, number[]> = {
  clock_time_get: [1],
  fd_advise: [1, 2],
  fd_allocate: [1, 2],
  fd_fdstat_set_rights: [1, 2],
  fd_filestat_set_size: [1],
  fd_filestat_set_times: [1, 2],
  fd_pread: [3],
  fd_pwrite: [3],
  fd_readdir: [3],
  fd_seek: [1],
  path_filestat_set_times: [4, 5],
  path_open: [5, 6],
};
const SKIP = new Set(["proc_exit", "proc_raise", "poll_oneoff"]);
const PATHS = ["a", "b/c", "..", ".", "a/../..", "/etc", "d/", "x\0y", "é", "a/b/c/d", "", "l", "../a"];

/** xorshift32: deterministic, so a failure can be replayed with the printed seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Wraps a mount so that every path it is given is checked the way the resolver promises. */
function watched(mount: Mount, violations: string[]): Mount {
  const check = (path: unknown) => {
    if (!Array.isArray(path)) return;
    for (const c of path as unknown[]) {
      if (
        typeof c !== "string" ||
        c === "" ||
        c === "." ||
        c === ".." ||
        c.includes("/") ||
        c.includes("\0")
      ) {
        violations.push(JSON.stringify(path));
      }
    }
  };
  return new Proxy(mount, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        args.forEach(check);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

void test("fuzz: every import returns an errno for random arguments", () => {
  const calls = Number(process.env.TWINE_WASI_FUZZ ?? 10000);
  const seed = Number(process.env.TWINE_WASI_FUZZ_SEED ?? 12345);
  const rand = rng(seed);
  const violations: string[] = [];
  const h = withMount(watched(new MemMount(), violations), { pages: 2 });
  try {
    const size = h.memory.buffer.byteLength;
    const paths = PATHS.map((p) => ({ at: h.put(p), bytes: Buffer.from(p, "utf8") }));
    const names = Object.keys(h.imp).filter((n) => !SKIP.has(n));
    const pathSuccesses = new Set<string>();
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const i32 = (): number => {
      const r = rand();
      if (r < 0.3) return Math.floor(rand() * 10); // small: fds, flags, lengths
      if (r < 0.6) return Math.floor(rand() * size); // a pointer inside memory
      if (r < 0.7) return size - Math.floor(rand() * 64); // near the end
      return (rand() * 2 ** 32) | 0; // anything, negative included
    };
    const i64 = (): bigint => {
      const r = rand();
      if (r < 0.5) return BigInt(Math.floor(rand() * 4096));
      if (r < 0.7) return -1n;
      return BigInt.asIntN(
        64,
        (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32)),
      );
    };
    for (let k = 0; k < calls; k++) {
      const name = pick(names);
      const f = (h.imp as unknown as Record<string, (...a: unknown[]) => unknown>)[name] as (
        ...a: unknown[]
      ) => unknown;
      const big = BIGINT_PARAMS[name] ?? [];
      const args: unknown[] = Array.from({ length: f.length }, (_, i) => (big.includes(i) ? i64() : i32()));
      // Often hand a path_* call a real path string, so lookups go deep.
      if (name.startsWith("path_") && rand() < 0.7) {
        // Random writes elsewhere may have scribbled over the strings: put them back first.
        for (const { at, bytes } of paths) h.u8.set(bytes, at[0]);
        const [p, l] = pick(paths).at;
        const at =
          name === "path_symlink"
            ? 3
            : name === "path_open" || name === "path_link" || name.endsWith("_get") || name.endsWith("_times")
              ? 2
              : 1;
        args[at] = p;
        args[at + 1] = l;
        // ...through the preopen (fd 3), and for path_open with mostly sensible flags and rights.
        args[name === "path_symlink" ? 2 : 0] = 3;
        if (name === "path_link") args[4] = 3;
        if (name === "path_rename") args[3] = 3;
        // lookupflags: mostly valid.
        if (["path_filestat_get", "path_filestat_set_times", "path_open", "path_link"].includes(name)) {
          args[1] = rand() < 0.9 ? Math.floor(rand() * 2) : i32();
        }
        if (name === "path_open") {
          args[4] = Math.floor(rand() * 16);
          args[5] = (i64() & 0xfffn) | C.RIGHTS_FD_READ;
          args[6] = 0n;
          args[7] = Math.floor(rand() * 32);
          args[8] = Math.floor(rand() * size);
        }
        if (name === "path_link" || name === "path_rename" || name === "path_symlink") {
          const [q, ql] = pick(paths).at;
          args[name === "path_symlink" ? 0 : args.length - 2] = q;
          args[name === "path_symlink" ? 1 : args.length - 1] = ql;
        }
      }
      // Narrowing the preopen's rights would (correctly) make every later path call NOTCAPABLE.
      if (name === "fd_fdstat_set_rights" && args[0] === 3) args[0] = 4;
      let r: unknown;
      assert.doesNotThrow(
        () => {
          r = f(...args);
        },
        `${name}(${args.map(String).join(", ")}) threw (seed ${seed}, call ${k})`,
      );
      assert.ok(
        Number.isInteger(r) && (r as number) >= 0 && (r as number) <= 76,
        `${name} returned ${String(r)}`,
      );
      if (r === 0 && name.startsWith("path_")) pathSuccesses.add(name);
    }
    // The campaign reached real work, not only argument errors.
    for (const n of ["path_create_directory", "path_open", "path_filestat_get"]) {
      assert.ok(calls < 5000 || pathSuccesses.has(n), `${n} never succeeded`);
    }
    assert.deepEqual(violations, [], "a path that could escape reached the mount");
  } finally {
    h.close();
  }
});
