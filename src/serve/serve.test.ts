import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TwineClient } from "../client/client.js";
import { isTwineError } from "../errors.js";
import { PfsMount } from "../pfs/pfs-mount.js";
import { openOptions } from "../vfs/types.js";
import { jobFolderName } from "./jobs.js";
import { jobManifest } from "./server.js";
import {
  removeTempDirs,
  submit,
  requestLines,
  serveJobSpec,
  startTestServer,
  tempDir,
  type TestServer,
} from "./test-support.js";

const T = { timeout: 30_000 };
let s: TestServer;

before(async () => {
  s = await startTestServer({ jobs: 2 });
});
after(async () => {
  await s.close();
  removeTempDirs();
});

async function client(): Promise<TwineClient> {
  return TwineClient.connect(s.url, { policy: s.policy() });
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTwineError(e), `not a TwineError: ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

/** Reads a file from a volume fetched as raw files, with the owner's key (what `twine pfs export` does). */
async function readFetchedVolume(c: TwineClient, id: string, key: Buffer, file: string): Promise<string> {
  const dir = join(tempDir("fetched"), "volume");
  mkdirSync(dir);
  writeFileSync(join(dir, "super"), await c.getVolumeFile(id, "super"));
  writeFileSync(join(dir, "nodes"), await c.getVolumeFile(id, "nodes"));
  const m = PfsMount.open(dir, key, { readonly: true });
  try {
    m.volume.verify();
    const h = m.open([file], openOptions({ read: true }));
    const buf = Buffer.alloc(4096);
    const n = h.pread(buf, 0n);
    h.close();
    return buf.subarray(0, n).toString();
  } finally {
    m.close();
  }
}

void test(
  "info: the certificate and /v1/info carry the launch hash `twine measure` computes",
  T,
  async () => {
    const c = await client();
    try {
      const expected = Buffer.from(jobManifest(serveJobSpec()).hash).toString("hex");
      assert.equal(c.info.launchHash, expected);
      assert.equal(c.info.tee, "sim");
      assert.deepEqual(c.info.pfs, ["/data"]);
      const m = c.info.manifest as { mounts: unknown[]; limits: { timeoutMs: number } };
      assert.deepEqual(m.mounts, [{ type: "pfs", guestPath: "/data", key: "provided" }]);
      assert.equal(m.limits.timeoutMs, 2000);
    } finally {
      c.close();
    }
  },
);

void test("a job runs end to end: key, inputs, start, wait, output file, stdout, raw volume", T, async () => {
  const c = await client();
  try {
    const { id, key } = await submit(c, { "/data/mode": "ok", "/data/in.txt": "hello twine" });
    const st = await c.wait(id);
    assert.equal(st.state, "exited", JSON.stringify(st));
    assert.equal(st.exitCode, 0);
    assert.equal(st.stdout.toString(), "job ok: 11 bytes\n");
    assert.equal(st.stderr.toString(), "note: done\n");
    assert.equal((await c.getFile(id, "/data/out.txt")).toString(), "processed: HELLO TWINE");
    // The encrypted volume, decrypted by the owner alone.
    assert.equal(await readFetchedVolume(c, id, key, "out.txt"), "processed: HELLO TWINE");
    await rejectsWith(c.getFile(id, "/data/missing.txt"), "wasi.noent");
    // Uploads make parent directories; ended jobs' files are read back from them.
    const nested = await submit(c, { "/data/mode": "exit 0", "/data/a/b c/d.txt": "deep" });
    assert.equal((await c.wait(nested.id)).exitCode, 0);
    assert.equal((await c.getFile(nested.id, "/data/a/b c/d.txt")).toString(), "deep");
    await c.deleteJob(id);
    await rejectsWith(c.status(id), "serve.no_job");
  } finally {
    c.close();
  }
});

void test(
  "the host cannot hand a job an older copy of its volume (root store in the job's folder)",
  T,
  async () => {
    const c = await client();
    try {
      const id = await c.createJob();
      const key = randomBytes(32);
      await c.putKey(id, key);
      await c.putFile(id, "/data/mode", Buffer.from("ok"));
      await c.putFile(id, "/data/in.txt", Buffer.from("first"));
      const volume = join(s.stateDir, "jobs", jobFolderName(id), "volume-0");
      const old = tempDir("old-volume");
      cpSync(volume, old, { recursive: true });
      await c.putFile(id, "/data/in.txt", Buffer.from("second"));
      // The host swaps the older, validly signed copy back in before the job runs.
      cpSync(old, volume, { recursive: true });
      await c.start(id);
      const st = await c.wait(id);
      assert.equal(st.state, "failed", JSON.stringify(st));
      assert.equal(st.error?.code, "pfs.rollback");
      assert.equal(st.stdout.length, 0);
    } finally {
      c.close();
    }
  },
);

void test("a client whose policy names another launch is refused before it sends anything", T, async () => {
  const before = requestLines(s.log).length;
  const other = "ab".repeat(32);
  await rejectsWith(
    TwineClient.connect(s.url, { policy: s.policy({ launchHashes: [other] }) }),
    "ratls.launch_hash",
  );
  await rejectsWith(TwineClient.connect(s.url, { policy: s.strictPolicy() }), "attest.sim");
  assert.equal(requestLines(s.log).length, before, "the server saw no request");
});

void test("job ids are capabilities: an unknown id is refused, state rules are enforced", T, async () => {
  const c = await client();
  try {
    await rejectsWith(c.status("0".repeat(32)), "serve.no_job");
    const id = await c.createJob();
    await rejectsWith(c.putFile(id, "/data/mode", Buffer.from("ok")), "serve.state");
    await rejectsWith(c.start(id), "serve.state");
    await rejectsWith(c.putKey(id, Buffer.alloc(5)), "serve.bad_request");
    await c.putKey(id, randomBytes(32));
    await rejectsWith(c.putKey(id, randomBytes(32)), "serve.state");
    await rejectsWith(c.putFile(id, "/elsewhere/x", Buffer.from("x")), "serve.not_found");
    await rejectsWith(c.getFile(id, "/data/mode"), "serve.state");
    await c.deleteJob(id);
  } finally {
    c.close();
  }
});

void test("the certificate is re-issued with a fresh key and still accepted", T, async () => {
  const old = s.handle.identity().certDer;
  s.handle.refreshIdentity();
  assert.notDeepEqual(s.handle.identity().certDer, old);
  const c = await client();
  c.close();
});
