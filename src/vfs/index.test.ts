import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { HostMount } from "./host.js";
import { createMount, parseDirFlag, type MountConfig } from "./index.js";
import { MemMount } from "./mem.js";

void test("parseDirFlag: HOST::GUEST is read-only unless :rw", () => {
  const rows: [string, MountConfig][] = [
    ["data::/data", { type: "host", hostPath: "data", guestPath: "/data", readonly: true }],
    ["data::/data:ro", { type: "host", hostPath: "data", guestPath: "/data", readonly: true }],
    ["data::/data:rw", { type: "host", hostPath: "data", guestPath: "/data", readonly: false }],
    ["/srv/in::.", { type: "host", hostPath: "/srv/in", guestPath: ".", readonly: true }],
    ["a::b::c:rw", { type: "host", hostPath: "a", guestPath: "b::c", readonly: false }],
    ["a::b:x", { type: "host", hostPath: "a", guestPath: "b:x", readonly: true }],
    ["data::ro", { type: "host", hostPath: "data", guestPath: "ro", readonly: true }], // a name, not a mode
  ];
  for (const [flag, want] of rows) assert.deepEqual(parseDirFlag(flag), want, flag);
});

void test("parseDirFlag: malformed flags are cli.usage", () => {
  for (const flag of ["data", "data:/data", "::/data", "data::", "data:::rw", "a\0::b", "a::b\0"]) {
    assert.throws(() => parseDirFlag(flag), { code: "cli.usage" }, JSON.stringify(flag));
  }
});

void test("createMount: builds each kind from plain, cloneable data", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twine-index-"));
  try {
    const host: MountConfig = { type: "host", guestPath: "/d", hostPath: tmp, readonly: false };
    const cloned = structuredClone(host);
    assert.deepEqual(cloned, host);
    const m = createMount(cloned);
    assert.ok(m instanceof HostMount);
    assert.equal(m.readonly, false);
    m.mkdir(["x"]);
    assert.ok(fs.statSync(path.join(tmp, "x")).isDirectory());
    assert.equal(createMount(parseDirFlag(`${tmp}::/d`)).readonly, true);
    assert.ok(createMount({ type: "mem", guestPath: "/tmp" }) instanceof MemMount);
    assert.throws(
      () => createMount({ type: "host", guestPath: "/d", hostPath: path.join(tmp, "nope"), readonly: true }),
      { code: "wasi.noent" },
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
