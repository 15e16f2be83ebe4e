// Load: N owners at once (TWINE_SERVE_LOAD_CLIENTS, default 50), each with its own verified client,
// job, key and input, against a server running 2 guests at a time. Every job must succeed with its
// own output: no job sees another's data.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { TwineClient } from "../client/client.js";
import { removeTempDirs, startTestServer, type TestServer } from "./test-support.js";

const CLIENTS = Number(process.env.TWINE_SERVE_LOAD_CLIENTS ?? "50");
let s: TestServer;

before(async () => {
  // A generous guest timeout: on a loaded machine a queued job's run must not be cut short.
  s = await startTestServer({ jobs: 2, spec: { timeoutMs: 30_000 } });
});
after(async () => {
  await s.close();
  removeTempDirs();
});

async function owner(i: number): Promise<void> {
  const c = await TwineClient.connect(s.url, { policy: s.policy() });
  try {
    const id = await c.createJob();
    await c.putKey(id, randomBytes(32));
    await c.putFile(id, "/data/mode", Buffer.from("ok"));
    await c.putFile(id, "/data/in.txt", Buffer.from(`owner ${i}`));
    await c.start(id);
    const st = await c.wait(id);
    assert.equal(st.state, "exited", `owner ${i}: ${JSON.stringify(st.error)}`);
    assert.equal(st.exitCode, 0);
    assert.equal((await c.getFile(id, "/data/out.txt")).toString(), `processed: OWNER ${i}`);
    await c.deleteJob(id);
  } finally {
    c.close();
  }
}

void test(
  `${CLIENTS} concurrent owners each run a job to completion with --jobs 2`,
  { timeout: 120_000 },
  async () => {
    const t0 = performance.now();
    const results = await Promise.allSettled(Array.from({ length: CLIENTS }, (_, i) => owner(i)));
    const failed = results.filter((r) => r.status === "rejected");
    assert.deepEqual(
      failed.map((r) => String(r.reason)),
      [],
      `${failed.length} of ${CLIENTS} owners failed`,
    );
    const ms = performance.now() - t0;
    process.stderr.write(
      `serve load: ${CLIENTS} jobs in ${ms.toFixed(0)} ms (${((CLIENTS * 1000) / ms).toFixed(1)} jobs/s)\n`,
    );
    // Nothing is left behind: every job was deleted with its files.
    assert.deepEqual(readdirSync(join(s.stateDir, "jobs")), []);
  },
);
