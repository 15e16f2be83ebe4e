import { test } from "node:test";
import assert from "node:assert/strict";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  readlinkSync,
  openSync,
  writeSync,
  closeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { EXIT } from "../errors.js";
import { main } from "./main.js";
import { parsePfsFlags } from "./pfs-command.js";

/** Runs the CLI in-process (no child: immune to a concurrent rebuild of dist/), capturing output. */
async function twine(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { stdout, stderr } = process;
  const ow = stdout.write.bind(stdout);
  const ew = stderr.write.bind(stderr);
  const text = (s: string | Uint8Array): string => (typeof s === "string" ? s : Buffer.from(s).toString());
  stdout.write = (s: string | Uint8Array) => out.push(text(s)) > 0;
  stderr.write = (s: string | Uint8Array) => err.push(text(s)) > 0;
  process.exitCode = undefined;
  try {
    const status = await main(args);
    return { status, stdout: out.join(""), stderr: err.join("") };
  } finally {
    stdout.write = ow;
    stderr.write = ew;
    process.exitCode = undefined;
  }
}

void test("twine pfs: create, import, ls, export, verify, rekey, and failures", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "twine-pfs-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, "k.hex");
  const key2 = join(dir, "k2.bin");
  writeFileSync(key, `${randomBytes(32).toString("hex")}\n`);
  writeFileSync(key2, randomBytes(32));
  const src = join(dir, "in");
  mkdirSync(join(src, "sub"), { recursive: true });
  const big = randomBytes(3_000_000);
  writeFileSync(join(src, "big.bin"), big);
  writeFileSync(join(src, "sub", "note.txt"), "hello");
  symlinkSync("../big.bin", join(src, "sub", "ln"));
  const vol = join(dir, "vol");

  assert.equal((await twine("pfs", "create", vol, "--key-file", key)).status, 0);
  const imp = await twine("pfs", "import", vol, src, "/data", "--key-file", key);
  assert.equal(imp.status, 0, imp.stderr);
  assert.match(imp.stdout, /imported 2 files, 2 directories, 1 symlinks, 3000005 bytes/);
  const ls = await twine("pfs", "ls", vol, "/", "-R", "-l", "--key-file", key);
  assert.equal(ls.status, 0, ls.stderr);
  assert.match(ls.stdout, /- +3000000 data\/big\.bin/);
  assert.match(ls.stdout, /l +10 data\/sub\/ln -> \.\.\/big\.bin/);

  const v = await twine("pfs", "verify", vol, "--key-file", key);
  assert.equal(v.status, 0, v.stderr);
  const version = /version (\d+)/.exec(v.stdout)?.[1];
  const root = /root ([0-9a-f]{64})/.exec(v.stdout)?.[1];
  assert.ok(version !== undefined && root !== undefined);
  const tv = await twine(
    "pfs",
    "verify",
    vol,
    "--key-file",
    key,
    "--trusted-version",
    version,
    "--trusted-root",
    root,
  );
  assert.equal(tv.status, 0, tv.stderr + tv.stdout);
  const newer = String(BigInt(version) + 1n);
  assert.equal(
    (await twine("pfs", "verify", vol, "--key-file", key, "--trusted-version", newer, "--trusted-root", root))
      .status,
    EXIT.IO,
  );

  const out = join(dir, "out");
  const exp = await twine("pfs", "export", vol, "/data", out, "--key-file", key);
  assert.equal(exp.status, 0, exp.stderr);
  assert.deepEqual(readFileSync(join(out, "big.bin")), big);
  assert.equal(readFileSync(join(out, "sub", "note.txt"), "utf8"), "hello");
  assert.equal(readlinkSync(join(out, "sub", "ln")), "../big.bin");
  assert.equal(
    (await twine("pfs", "export", vol, "/data", out, "--key-file", key)).status,
    EXIT.IO,
    "no overwrite",
  );

  const rk = await twine("pfs", "rekey", vol, "--key-file", key, "--new-key-file", key2);
  assert.equal(rk.status, 0, rk.stderr);
  assert.equal((await twine("pfs", "verify", vol, "--key-file", key)).status, EXIT.IO);
  assert.equal((await twine("pfs", "verify", vol, "--key-file", key2)).status, 0);
  const out2 = join(dir, "out2");
  assert.equal((await twine("pfs", "export", vol, "/data/big.bin", out2, "--key-file", key2)).status, 0);
  assert.deepEqual(readFileSync(out2), big);

  // One flipped byte in the node store: verify must fail with the I/O exit status.
  const fd = openSync(join(vol, "nodes"), "r+");
  writeSync(fd, Buffer.from([0x5a]), 0, 1, 4096 * 3 + 17);
  closeSync(fd);
  assert.equal((await twine("pfs", "verify", vol, "--key-file", key2)).status, EXIT.IO);

  writeFileSync(join(dir, "bad-key"), "short");
  assert.equal((await twine("pfs", "ls", vol, "--key-file", join(dir, "bad-key"))).status, EXIT.USAGE);
  assert.equal((await twine("pfs", "ls", vol, "/../x", "--key-file", key2)).status, EXIT.USAGE);
});

void test("--pfs flags become pfs mount configs keyed by --key-file", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "twine-pfs-flag-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, "k");
  const raw = randomBytes(32);
  writeFileSync(key, raw);
  assert.deepEqual(parsePfsFlags(["/h/v::/data"], key), [
    { type: "pfs", guestPath: "/data", hostPath: "/h/v", key: raw, create: false },
  ]);
  assert.deepEqual(parsePfsFlags([], undefined), []);
  assert.throws(() => parsePfsFlags(["/h/v::/data"], undefined), { code: "cli.usage" });
  assert.throws(() => parsePfsFlags(["/h/v"], key), { code: "cli.usage" });
  assert.throws(() => parsePfsFlags(["::/data"], key), { code: "cli.usage" });
});

void test("twine pfs keeps the last root in the state directory: a volume put back is refused", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "twine-pfs-roots-"));
  const saved = process.env["TWINE_STATE_DIR"];
  process.env["TWINE_STATE_DIR"] = join(dir, "state");
  t.after(() => {
    if (saved === undefined) delete process.env["TWINE_STATE_DIR"];
    else process.env["TWINE_STATE_DIR"] = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  const key = join(dir, "k");
  writeFileSync(key, randomBytes(32));
  writeFileSync(join(dir, "a.txt"), "a");
  const vol = join(dir, "vol");
  assert.equal((await twine("pfs", "create", vol, "--key-file", key)).status, 0);
  const old = join(dir, "old");
  cpSync(vol, old, { recursive: true });
  assert.equal((await twine("pfs", "import", vol, join(dir, "a.txt"), "--key-file", key)).status, 0);
  rmSync(vol, { recursive: true });
  cpSync(old, vol, { recursive: true });
  const ls = await twine("pfs", "ls", vol, "--key-file", key);
  assert.equal(ls.status, EXIT.IO);
  assert.match(ls.stderr, /\[pfs\.rollback\]/);
  assert.equal((await twine("pfs", "ls", vol, "--key-file", key, "--no-root-store")).status, 0);
  assert.ok(existsSync(join(dir, "state", "pfs-roots")));
});

void test("twine pfs create --node-size: the size is the volume's for every later command", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "twine-pfs-ns-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = join(dir, "k.bin");
  const key2 = join(dir, "k2.bin");
  writeFileSync(key, randomBytes(32));
  writeFileSync(key2, randomBytes(32));
  const data = randomBytes(200_000);
  writeFileSync(join(dir, "in.bin"), data);
  for (const bad of ["3K", "128K", "5000", "32M", "x"])
    assert.equal(
      (await twine("pfs", "create", join(dir, `bad-${bad}`), "--key-file", key, "--node-size", bad)).status,
      EXIT.USAGE,
      bad,
    );
  const vol = join(dir, "vol");
  const c = await twine("pfs", "create", vol, "--key-file", key, "--node-size", "32K");
  assert.equal(c.status, 0, c.stderr);
  assert.equal(
    (await twine("pfs", "import", vol, join(dir, "in.bin"), "/d.bin", "--key-file", key)).status,
    0,
  );
  // The store grows in 32 KiB slots.
  assert.equal(statSync(join(vol, "nodes")).size % 32768, 0);
  const v = await twine("pfs", "verify", vol, "--key-file", key);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /in \d+ nodes of 32768 bytes/);
  assert.equal((await twine("pfs", "rekey", vol, "--key-file", key, "--new-key-file", key2)).status, 0);
  const v2 = await twine("pfs", "verify", vol, "--key-file", key2);
  assert.match(v2.stdout, /nodes of 32768 bytes/);
  assert.equal(
    (await twine("pfs", "export", vol, "/d.bin", join(dir, "out.bin"), "--key-file", key2)).status,
    0,
  );
  assert.deepEqual(readFileSync(join(dir, "out.bin")), data);
  const d = await twine("pfs", "create", join(dir, "default"), "--key-file", key, "--node-size", "4096");
  assert.equal(d.status, 0, d.stderr);
  assert.match(
    (await twine("pfs", "verify", join(dir, "default"), "--key-file", key)).stdout,
    /nodes of 4096 bytes/,
  );
});
