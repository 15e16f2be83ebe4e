// Faults: guests that trap, spin or eat memory fail alone; garbage, malformed HTTP, slow and dropped
// clients cost only their own connection. After each, a normal client still gets served.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import * as tls from "node:tls";
import { TwineClient } from "../client/client.js";
import { isTwineError } from "../errors.js";
import { PfsMount } from "../pfs/pfs-mount.js";
import { openOptions } from "../vfs/types.js";
import { jobFolderName } from "./jobs.js";
import { removeTempDirs, submit, startTestServer, tempDir, type TestServer } from "./test-support.js";

const T = { timeout: 30_000 };
const HEADERS_TIMEOUT_MS = 600;
const OUTPUT_CAP = 256 * 1024;
const HANDSHAKE_TIMEOUT_MS = 500;
const MAX_FILE = 64 * 1024;
let s: TestServer;

before(async () => {
  s = await startTestServer({
    jobs: 2,
    limits: {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      outputCapBytes: OUTPUT_CAP,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      maxFileBytes: MAX_FILE,
    },
  });
});
after(async () => {
  await s.close();
  removeTempDirs();
});

async function client(): Promise<TwineClient> {
  return TwineClient.connect(s.url, { policy: s.policy() });
}

/** A normal job still runs to completion: the server is alive and serving. */
async function stillServes(): Promise<void> {
  const c = await client();
  try {
    const { id } = await submit(c, { "/data/mode": "ok", "/data/in.txt": "alive" });
    const st = await c.wait(id);
    assert.equal(st.state, "exited");
    assert.equal((await c.getFile(id, "/data/out.txt")).toString(), "processed: ALIVE");
  } finally {
    c.close();
  }
}

/** Fetches a job's raw volume and opens it with the key: authenticates every node, returns file text. */
async function fetchedVolume(c: TwineClient, id: string, key: Buffer): Promise<(name: string) => string> {
  const dir = join(tempDir("fetched"), "volume");
  mkdirSync(dir);
  writeFileSync(join(dir, "super"), await c.getVolumeFile(id, "super"));
  writeFileSync(join(dir, "nodes"), await c.getVolumeFile(id, "nodes"));
  const m = PfsMount.open(dir, key, { readonly: true });
  m.volume.verify();
  const read = (name: string): string => {
    const h = m.open([name], openOptions({ read: true }));
    const buf = Buffer.alloc(4096);
    const n = h.pread(buf, 0n);
    h.close();
    return buf.subarray(0, n).toString();
  };
  return read;
}

/** A raw TLS connection to the server (no verification: these tests play hostile clients). */
function rawTls(): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: "127.0.0.1", port: s.handle.port, rejectUnauthorized: false }, () =>
      resolve(sock),
    );
    sock.on("error", reject);
  });
}

/** Resolves with what the server sent once it closed the connection (or after `ms`, with null). */
function untilClosed(sock: net.Socket, ms: number): Promise<string | null> {
  return new Promise((resolve) => {
    let got = "";
    const timer = setTimeout(() => resolve(null), ms);
    sock.on("data", (d: Buffer) => (got += d.toString("latin1")));
    sock.on("error", () => undefined);
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

void test("trapping, spinning and memory-hog guests fail alone while other jobs succeed", T, async () => {
  const c = await client();
  try {
    const jobs = await Promise.all([
      submit(c, { "/data/mode": "trap" }),
      submit(c, { "/data/mode": "spin" }),
      submit(c, { "/data/mode": "hog" }),
      submit(c, { "/data/mode": "ok", "/data/in.txt": "one" }),
      submit(c, { "/data/mode": "exit 7" }),
      submit(c, { "/data/mode": "ok", "/data/in.txt": "two" }),
    ]);
    const [trap, spin, hog, ok1, exit7, ok2] = await Promise.all(jobs.map((j) => c.wait(j.id)));
    assert.equal(trap?.state, "failed");
    assert.equal(trap?.error?.code, "run.trap");
    assert.equal(trap?.stdout.toString(), "trapping\n");
    assert.equal(spin?.state, "failed");
    assert.equal(spin?.error?.code, "run.timeout");
    assert.equal(hog?.state, "failed");
    assert.equal(hog?.error?.code, "run.trap");
    // The 32 MiB cap held: the guest saw malloc fail, near the cap, then aborted.
    const mib = Number(/out of memory after (\d+) MiB/.exec(hog?.stderr.toString() ?? "")?.[1]);
    assert.ok(mib > 20 && mib <= 32, `allocated ${mib} MiB`);
    assert.equal(ok1?.state, "exited");
    assert.equal(ok1?.stdout.toString(), "job ok: 3 bytes\n");
    assert.equal(exit7?.state, "exited");
    assert.equal(exit7?.exitCode, 7);
    assert.equal(ok2?.state, "exited");
    assert.equal((await c.getFile(jobs[5].id, "/data/out.txt")).toString(), "processed: TWO");
  } finally {
    c.close();
  }
});

void test("a guest flooding stdout fills no more than the output cap on the host", T, async () => {
  const c = await client();
  try {
    const flood = await submit(c, { "/data/mode": "flood" });
    const st = await c.wait(flood.id);
    assert.equal(st.state, "exited", JSON.stringify(st.error));
    assert.equal(st.exitCode, 0);
    assert.equal(st.stdoutTruncated, true);
    assert.equal(st.stdout.length, OUTPUT_CAP);
    // 64 MiB written by the guest; the host file holds the cap and one byte.
    assert.equal(statSync(join(s.stateDir, "jobs", jobFolderName(flood.id), "stdout")).size, OUTPUT_CAP + 1);
  } finally {
    c.close();
  }
});

void test("a job killed after writing keeps its committed data in a volume that verifies", T, async () => {
  const c = await client();
  try {
    const trap = await submit(c, { "/data/mode": "trap" });
    const spin = await submit(c, { "/data/mode": "spin" });
    assert.equal((await c.wait(trap.id)).error?.code, "run.trap");
    assert.equal((await c.wait(spin.id)).error?.code, "run.timeout");
    // A trap ends the guest inside its worker, which still closes (commits) the volume.
    const t = await fetchedVolume(c, trap.id, trap.key);
    assert.equal(t("partial.txt"), "committed before trap\n");
    assert.equal(t("unsynced.txt"), "written, not synced\n");
    // A timeout terminates the worker: the volume stays at its last commit (the guest's fsync).
    const sp = await fetchedVolume(c, spin.id, spin.key);
    assert.equal(sp("progress.txt"), "committed before spinning\n");
    assert.equal((await c.getFile(spin.id, "/data/progress.txt")).toString(), "committed before spinning\n");
  } finally {
    c.close();
  }
});

void test("garbage bytes on the TLS port cost only that connection", T, async () => {
  const sock = net.connect(s.handle.port, "127.0.0.1");
  await new Promise((r) => sock.once("connect", r));
  const closed = untilClosed(sock, 5000);
  sock.write(randomBytes(4096));
  assert.notEqual(await closed, null, "the server closed the connection");
  const plain = net.connect(s.handle.port, "127.0.0.1");
  const closedPlain = untilClosed(plain, 5000);
  plain.write("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.notEqual(await closedPlain, null);
  await stillServes();
});

void test(
  "a connection that never starts its TLS handshake is closed by the handshake timeout",
  T,
  async () => {
    const sock = net.connect(s.handle.port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    const t0 = Date.now();
    assert.notEqual(await untilClosed(sock, 10_000), null, "the server closed the idle connection");
    const ms = Date.now() - t0;
    assert.ok(ms >= HANDSHAKE_TIMEOUT_MS - 100 && ms < 5000, `closed after ${ms} ms`);
    await stillServes();
  },
);

void test("malformed HTTP after the handshake gets a 400 and the connection closed", T, async () => {
  const sock = await rawTls();
  const closed = untilClosed(sock, 5000);
  sock.write("NOT HTTP AT ALL\x00\x01\r\n\r\n");
  const reply = await closed;
  assert.match(reply ?? "", /^HTTP\/1\.1 400 /);
  await stillServes();
});

void test("a client sending its headers byte by byte is cut off by the headers timeout", T, async () => {
  const sock = await rawTls();
  const t0 = Date.now();
  const closed = untilClosed(sock, 10_000);
  const line = "GET /v1/info HTTP/1.1\r\nHost: twine\r\nX-Slow: ";
  let i = 0;
  const drip = setInterval(() => {
    if (sock.writable) sock.write(line[i % line.length] ?? "a");
    i++;
  }, 50);
  const reply = await closed;
  clearInterval(drip);
  const ms = Date.now() - t0;
  assert.notEqual(reply, null, "the server closed the slow connection");
  assert.match(reply ?? "", /^HTTP\/1\.1 408 |^$/);
  assert.ok(ms >= HEADERS_TIMEOUT_MS - 100 && ms < 5000, `closed after ${ms} ms`);
  assert.ok(s.log.some((l) => l.includes("http-error ERR_HTTP_REQUEST_TIMEOUT")));
  await stillServes();
});

void test("a client dropping mid-upload leaves no partial file; the job still runs", T, async () => {
  const c = await client();
  try {
    const id = await c.createJob();
    await c.putKey(id, randomBytes(32));
    await c.putFile(id, "/data/mode", Buffer.from("ok"));
    const sock = await rawTls();
    const closed = untilClosed(sock, 5000);
    sock.write(
      `PUT /v1/jobs/${id}/files/data/in.txt HTTP/1.1\r\nHost: twine\r\nContent-Length: 50000\r\n\r\n${"x".repeat(20_000)}`,
    );
    await new Promise((r) => setTimeout(r, 100));
    sock.destroy();
    await closed;
    // The server's side of the abort may land just after ours: start once it has.
    for (let i = 0; i < 50 && !s.log.some((l) => l.includes("/files aborted")); i++)
      await new Promise((r) => setTimeout(r, 20));
    await c.start(id);
    const st = await c.wait(id);
    assert.equal(st.state, "exited");
    assert.equal(st.exitCode, 3, "the guest found no in.txt");
    assert.equal(st.stderr.toString(), "no input: NOENT\n");
  } finally {
    c.close();
  }
  await stillServes();
});

void test("uploads over the size limit are refused", T, async () => {
  const c = await client();
  try {
    const id = await c.createJob();
    await c.putKey(id, randomBytes(32));
    await assert.rejects(c.putFile(id, "/data/in.txt", Buffer.alloc(MAX_FILE + 1)), (e: unknown) => {
      assert.ok(isTwineError(e, "serve.too_large"), String(e));
      return true;
    });
    await c.putFile(id, "/data/in.txt", Buffer.alloc(MAX_FILE, 0x61));
  } finally {
    c.close();
  }
  await stillServes();
});

void test(
  "connections beyond the limit are dropped at accept; the server serves again once they go",
  T,
  async () => {
    const small = await startTestServer({ jobs: 1, limits: { maxConnections: 3 } });
    const open: tls.TLSSocket[] = [];
    try {
      const connect = (): Promise<tls.TLSSocket> =>
        new Promise((resolve, reject) => {
          const sock = tls.connect(
            { host: "127.0.0.1", port: small.handle.port, rejectUnauthorized: false },
            () => resolve(sock),
          );
          sock.on("error", reject);
          sock.on("close", () => reject(new Error("closed before the handshake")));
        });
      for (let i = 0; i < 3; i++) open.push(await connect());
      await assert.rejects(connect());
      await assert.rejects(
        TwineClient.connect(small.url, { policy: small.policy(), timeoutMs: 3000 }),
        (e: unknown) => isTwineError(e, "ratls.connect"),
      );
      for (const sock of open.splice(0)) sock.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const c = await TwineClient.connect(small.url, { policy: small.policy() });
      assert.equal(c.info.tee, "sim");
      c.close();
    } finally {
      for (const sock of open) sock.destroy();
      await small.close();
    }
  },
);
