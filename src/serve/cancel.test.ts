// Cancelling jobs: a running guest is stopped long before its timeout and its slot goes to the next
// queued job; a queued or created job ends without running; what a stopped guest committed stays
// downloadable and its volume verifies; ended jobs and unknown ids are refused as elsewhere.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TwineClient } from "../client/client.js";
import { isTwineError } from "../errors.js";
import { PfsMount } from "../pfs/pfs-mount.js";
import { openOptions } from "../vfs/types.js";
import { jobFolderName } from "./jobs.js";
import { removeTempDirs, startTestServer, submit, tempDir, type TestServer } from "./test-support.js";

const T = { timeout: 30_000 };
/** Far longer than any test here waits: a job that ends did so because it was cancelled. */
const JOB_TIMEOUT_MS = 60_000;
let s: TestServer;
let c: TwineClient;

before(async () => {
  // One worker, so a second job waits in the queue while the first runs.
  s = await startTestServer({ jobs: 1, spec: { timeoutMs: JOB_TIMEOUT_MS } });
  c = await TwineClient.connect(s.url, { policy: s.policy() });
});
after(async () => {
  c.close();
  await s.close();
  removeTempDirs();
});

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isTwineError(e), `not a TwineError: ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

/**
 * Submits a spinning job and waits until its guest has committed progress.txt and is looping: it
 * prints "spinning" after the fsync, into its stdout file in the server's state folder.
 */
async function spinning(): Promise<{ id: string; key: Buffer }> {
  const job = await submit(c, { "/data/mode": "spin" });
  const out = join(s.stateDir, "jobs", jobFolderName(job.id), "stdout");
  for (let i = 0; i < 500; i++) {
    let text = "";
    try {
      text = readFileSync(out, "utf8");
    } catch {
      // Not created until the job leaves the queue.
    }
    if (text === "spinning\n") return job;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the guest did not start spinning");
}

void test("cancelling a running guest stops it at once; its slot goes to the queued job", T, async () => {
  const spin = await spinning();
  const queued = await submit(c, { "/data/mode": "ok", "/data/in.txt": "next" });
  assert.equal((await c.status(queued.id)).state, "queued");
  assert.equal((await c.status(spin.id)).state, "running");

  const t0 = performance.now();
  const st = await c.cancel(spin.id);
  const ms = performance.now() - t0;
  assert.equal(st.state, "failed");
  assert.equal(st.error?.code, "serve.cancelled");
  assert.equal(st.stdout.toString(), "spinning\n");
  assert.ok(ms < 3000, `cancel took ${ms.toFixed(0)} ms`);

  // The slot was freed before the reply: the queued job has left the queue.
  assert.notEqual((await c.status(queued.id)).state, "queued");
  const next = await c.wait(queued.id);
  assert.equal(next.state, "exited");
  assert.equal((await c.getFile(queued.id, "/data/out.txt")).toString(), "processed: NEXT");

  await rejectsWith(c.cancel(spin.id), "serve.state");
  await c.deleteJob(spin.id);
  await c.deleteJob(queued.id);
  await rejectsWith(c.status(spin.id), "serve.no_job");
});

void test("a cancelled guest's committed data is downloadable and its volume verifies", T, async () => {
  const spin = await spinning();
  assert.equal((await c.cancel(spin.id)).error?.code, "serve.cancelled");
  assert.equal((await c.getFile(spin.id, "/data/progress.txt")).toString(), "committed before spinning\n");

  // The raw volume, opened offline with the owner's key: every node authenticates.
  const dir = join(tempDir("fetched"), "volume");
  mkdirSync(dir);
  writeFileSync(join(dir, "super"), await c.getVolumeFile(spin.id, "super"));
  writeFileSync(join(dir, "nodes"), await c.getVolumeFile(spin.id, "nodes"));
  const m = PfsMount.open(dir, spin.key, { readonly: true });
  try {
    m.volume.verify();
    const h = m.open(["progress.txt"], openOptions({ read: true }));
    const buf = Buffer.alloc(256);
    const n = h.pread(buf, 0n);
    h.close();
    assert.equal(buf.subarray(0, n).toString(), "committed before spinning\n");
  } finally {
    m.close();
  }
  await c.deleteJob(spin.id);
});

void test("a cancelled queued job never runs; its uploads stay readable", T, async () => {
  const spin = await spinning();
  const queued = await submit(c, { "/data/mode": "ok", "/data/in.txt": "never" });
  const st = await c.cancel(queued.id);
  assert.equal(st.state, "failed");
  assert.equal(st.error?.code, "serve.cancelled");
  assert.equal(st.stdout.length, 0);
  // The guest would have written out.txt: it did not run, and it will not once the slot frees.
  await c.cancel(spin.id);
  assert.equal((await c.status(queued.id)).state, "failed");
  await rejectsWith(c.getFile(queued.id, "/data/out.txt"), "wasi.noent");
  assert.equal((await c.getFile(queued.id, "/data/in.txt")).toString(), "never");
  await rejectsWith(c.start(queued.id), "serve.state");
  await c.deleteJob(queued.id);
  await c.deleteJob(spin.id);
});

void test("a created job can be cancelled before it starts, and then cannot start", T, async () => {
  const id = await c.createJob();
  await c.putKey(id, randomBytes(32));
  await c.putFile(id, "/data/in.txt", Buffer.from("uploaded"));
  const st = await c.cancel(id);
  assert.equal(st.state, "failed");
  assert.equal(st.error?.code, "serve.cancelled");
  await rejectsWith(c.start(id), "serve.state");
  await rejectsWith(c.putFile(id, "/data/more.txt", Buffer.from("x")), "serve.state");
  assert.equal((await c.getFile(id, "/data/in.txt")).toString(), "uploaded");
  await c.deleteJob(id);
});

void test("cancelling an ended job is a state error; the job is unchanged", T, async () => {
  const done = await submit(c, { "/data/mode": "exit 5" });
  const ended = await c.wait(done.id);
  assert.equal(ended.exitCode, 5, JSON.stringify(ended));
  await rejectsWith(c.cancel(done.id), "serve.state");
  const st = await c.status(done.id);
  assert.equal(st.state, "exited");
  assert.equal(st.exitCode, 5);
  assert.equal(st.error, undefined);
  await c.deleteJob(done.id);
});

void test("an unknown id gets the same answer from cancel as from every job route", T, async () => {
  const unknown = randomBytes(16).toString("hex");
  await rejectsWith(c.cancel(unknown), "serve.no_job");
  await rejectsWith(c.status(unknown), "serve.no_job");
  await rejectsWith(c.start(unknown), "serve.no_job");
  await rejectsWith(c.deleteJob(unknown), "serve.no_job");
  // The job id is never logged, known or not.
  assert.ok(!s.log.some((l) => l.includes(unknown)));
  assert.ok(s.log.some((l) => l.includes("POST /v1/jobs/?/cancel 404")));
});
