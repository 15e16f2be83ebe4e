// The root store: rollback detection across runs without the caller passing the trusted root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT_RECORD, ROOT_RECORD_SIZE } from "./format.js";
import { deriveKeys } from "./keys.js";
import { PfsMount } from "./pfs-mount.js";
import { RootStore, decodeRootRecord, defaultStateDir, encodeRootRecord } from "./root-store.js";
import { KEY, code, readFile, tempDir, writeFile } from "./test-helpers.js";
import type { VolumeOptions } from "./volume.js";
import { createMount } from "../vfs/index.js";

function flip(b: Buffer, at: number): Buffer {
  b.writeUInt8((b.readUInt8(at) ^ 1) & 0xff, at);
  return b;
}

/** Opens and closes; "ok" or the error code. */
function probe(dir: string, opts: VolumeOptions): string {
  return code(() => PfsMount.open(dir, KEY, opts).close());
}

function setup(t: { after: (fn: () => void) => void }): { base: string; store: RootStore; vol: string } {
  const base = tempDir(t);
  const store = new RootStore(join(base, "state"));
  const vol = join(base, "vol");
  const m = PfsMount.create(vol, KEY, { rootStore: store });
  writeFile(m, "f", Buffer.from("v1"));
  m.close();
  return { base, store, vol };
}

function recordFile(store: RootStore, vol: string): string {
  const m = PfsMount.open(vol, KEY, { readonly: true });
  const id = m.volume.volumeId;
  m.close();
  return store.pathOf(id);
}

void test("the state directory: $TWINE_STATE_DIR, else $XDG_STATE_HOME/twine, else ~/.local/state/twine", () => {
  assert.equal(defaultStateDir({ TWINE_STATE_DIR: "/s", XDG_STATE_HOME: "/x", HOME: "/h" }), "/s");
  assert.equal(defaultStateDir({ XDG_STATE_HOME: "/x" }), "/x/twine");
  assert.match(defaultStateDir({}), /\/\.local\/state\/twine$/);
});

void test("a root record round-trips and is bound to its volume, slot and key", () => {
  const id = Buffer.alloc(16, 3);
  const keys = deriveKeys(KEY, id);
  const root = { version: 7n, rootHash: Buffer.alloc(32, 5) };
  const b = encodeRootRecord(keys, id, root);
  assert.equal(b.length, ROOT_RECORD_SIZE);
  assert.deepEqual(decodeRootRecord(keys, id, b, 1), root);
  assert.equal(
    code(() => decodeRootRecord(keys, id, b, 0)),
    "pfs.integrity",
    "version 7 belongs in slot 1",
  );
  assert.equal(
    code(() => decodeRootRecord(keys, Buffer.alloc(16, 4), b, 1)),
    "pfs.integrity",
  );
  assert.equal(
    code(() => decodeRootRecord(deriveKeys(Buffer.alloc(32, 1), id), id, b, 1)),
    "pfs.integrity",
  );
});

void test("every commit is recorded: the record follows the volume's root", (t) => {
  const { store, vol } = setup(t);
  const m = PfsMount.open(vol, KEY, { rootStore: store });
  const keys = deriveKeys(KEY, m.volume.volumeId);
  for (let i = 0; i < 3; i++) {
    writeFile(m, "f", Buffer.from(`v${i}`));
    m.sync();
    const rec = store.open(m.volume.volumeId, keys);
    assert.deepEqual(rec.last, m.volume.trustedRoot);
    rec.close();
  }
  m.close();
});

void test("an old copy of the volume put back is a rollback, with no trusted root passed", (t) => {
  const { base, store, vol } = setup(t);
  const old = join(base, "old");
  cpSync(vol, old, { recursive: true });
  const m = PfsMount.open(vol, KEY, { rootStore: store });
  writeFile(m, "f", Buffer.from("v2"));
  m.close();
  rmSync(vol, { recursive: true });
  cpSync(old, vol, { recursive: true });
  assert.equal(probe(vol, { rootStore: store }), "pfs.rollback");
  assert.equal(probe(vol, { rootStore: store, readonly: true }), "pfs.rollback");
  // Without the root store the old copy is self-consistent: nothing else can tell.
  assert.equal(probe(vol, {}), "ok");
});

void test("a fork (same version, another root) is an integrity failure", (t) => {
  const { base, store, vol } = setup(t);
  const twin = join(base, "twin");
  cpSync(vol, twin, { recursive: true });
  for (const [d, text] of [
    [vol, "left"],
    [twin, "right"],
  ] as const) {
    const m = PfsMount.open(d, KEY);
    writeFile(m, "f", Buffer.from(text));
    m.close();
  }
  assert.equal(probe(vol, { rootStore: store }), "ok");
  assert.equal(probe(twin, { rootStore: store }), "pfs.integrity");
});

void test("a tampered record is refused; a deleted one means first use again", (t) => {
  const { base, store, vol } = setup(t);
  const m = PfsMount.open(vol, KEY, { rootStore: store });
  writeFile(m, "f", Buffer.from("v2"));
  m.close(); // both record slots now hold a valid record
  const file = recordFile(store, vol);
  const good = readFileSync(file);
  const tampered = (edit: (b: Buffer) => Buffer): string => {
    writeFileSync(file, edit(Buffer.from(good)));
    return probe(vol, { rootStore: store });
  };
  // A bit flipped in the version field, the root hash or the MAC of both slots.
  for (const f of [ROOT_RECORD.version, ROOT_RECORD.rootHash, ROOT_RECORD.mac]) {
    const got = tampered((b) => {
      for (const slot of [0, 1]) flip(b, slot * ROOT_RECORD_SIZE + f.offset);
      return b;
    });
    assert.equal(got, "pfs.integrity", `flip at ${f.offset}`);
  }
  assert.equal(
    tampered((b) => b.subarray(0, ROOT_RECORD_SIZE)),
    "pfs.integrity",
  );
  assert.equal(
    tampered(() => Buffer.alloc(2 * ROOT_RECORD_SIZE)),
    "pfs.integrity",
  );
  // The record of another volume (under the same key) put in this one's place.
  const other = join(base, "other");
  PfsMount.create(other, KEY, { rootStore: store }).close();
  writeFileSync(file, readFileSync(recordFile(store, other)));
  assert.equal(probe(vol, { rootStore: store }), "pfs.integrity");
  // One torn slot beside a valid one is what a crash mid-write leaves: the other slot counts.
  assert.equal(
    tampered((b) => flip(b, ROOT_RECORD.mac.offset)),
    "ok",
  );
  // The documented limit: the host can delete the record, and the next open trusts on first use.
  rmSync(file);
  assert.equal(probe(vol, { rootStore: store }), "ok");
  assert.ok(existsSync(file), "first use records the root again");
});

void test("a record one commit behind (a crash between commit and record) is accepted and caught up", (t) => {
  const { base, store, vol } = setup(t);
  const file = recordFile(store, vol);
  const behind = join(base, "behind");
  cpSync(file, behind);
  const m = PfsMount.open(vol, KEY, { rootStore: store });
  writeFile(m, "f", Buffer.from("v2"));
  m.close();
  const now = readFileSync(file);
  cpSync(behind, file);
  const r = PfsMount.open(vol, KEY, { rootStore: store, readonly: true });
  assert.deepEqual(readFile(r, "f"), Buffer.from("v2"));
  r.close();
  assert.deepEqual(readFileSync(file), now);
});

void test("a pfs mount config with a rootStore directory checks the record (twine run --pfs)", (t) => {
  const { base, store, vol } = setup(t);
  const old = join(base, "old");
  cpSync(vol, old, { recursive: true });
  const cfg = { type: "pfs", guestPath: "/data", hostPath: vol, key: KEY, create: false } as const;
  const m = createMount({ ...cfg, rootStore: store.stateDir });
  assert.ok(m instanceof PfsMount);
  writeFile(m, "g", Buffer.from("newer"));
  m.close();
  rmSync(vol, { recursive: true });
  cpSync(old, vol, { recursive: true });
  assert.equal(
    code(() => createMount({ ...cfg, rootStore: store.stateDir })),
    "pfs.rollback",
  );
  assert.equal(probe(vol, {}), "ok");
});
