// The file-system guests of test/guests run on a pfs mount and on a mem mount (the reference) must
// print exactly the same thing; the volume they leave behind must verify.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Runtime } from "../runtime/runtime.js";
import type { MountConfig } from "../vfs/index.js";
import { PfsMount } from "./pfs-mount.js";
import { KEY, tempDir } from "./test-helpers.js";

const GUESTS = fileURLToPath(new URL("../../../test/guests/", import.meta.url));
const CASES: [string, string[]][] = [
  ["file_io", []],
  ["stat_times", []],
  ["dirs", []],
  ["readdir_many", ["300"]],
  ["symlinks", []],
];

async function run(guest: string, args: string[], mount: MountConfig, out: string): Promise<string> {
  const fd = openSync(out, "w");
  try {
    const r = await new Runtime({ args: ["/data", ...args], mounts: [mount], stdout: fd, stderr: fd }).run(
      join(GUESTS, `${guest}.wasm`),
    );
    assert.deepEqual(r, { status: "exited", exitCode: 0 }, readFileSync(out, "utf8"));
  } finally {
    closeSync(fd);
  }
  return readFileSync(out, "utf8");
}

void describe("C guests give identical output on pfs and mem mounts", { concurrency: 1 }, () => {
  for (const [guest, args] of CASES) {
    void test(guest, { skip: !existsSync(join(GUESTS, `${guest}.wasm`)) && "guest not built" }, async (t) => {
      const dir = tempDir(t);
      const vol = join(dir, "vol");
      const mem = await run(guest, args, { type: "mem", guestPath: "/data" }, join(dir, "mem.out"));
      const pfs = await run(
        guest,
        args,
        { type: "pfs", guestPath: "/data", hostPath: vol, key: KEY, create: true },
        join(dir, "pfs.out"),
      );
      assert.ok(mem.length > 0);
      assert.equal(pfs, mem);
      const m = PfsMount.open(vol, KEY, { readonly: true });
      m.volume.verify();
      m.close();
    });
  }
});
