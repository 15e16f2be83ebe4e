// StdioHandle: classification of host fds, full writes through EAGAIN on non-blocking pipes, reads
// that wait for data and see EOF, and writing to the process's real fd 1 from a worker thread.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { StdioHandle } from "./stdio.js";
import { FILETYPE } from "./types.js";

const stdioUrl = new URL("./stdio.js", import.meta.url).href;

function pattern(n: number): Uint8Array {
  const buf = new Uint8Array(n);
  for (let i = 0; i < n; i++) buf[i] = (i * 7 + 3) % 251;
  return buf;
}

function withFifo<T>(run: (readFd: number, writeFd: number) => Promise<T>): Promise<T> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twine-stdio-"));
  const fifo = path.join(tmp, "fifo");
  execFileSync("mkfifo", [fifo]);
  const C = fs.constants;
  const readFd = fs.openSync(fifo, C.O_RDONLY | C.O_NONBLOCK);
  const writeFd = fs.openSync(fifo, C.O_WRONLY | C.O_NONBLOCK);
  const closeQuietly = (fd: number): void => {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed by the test
    }
  };
  return run(readFd, writeFd).finally(() => {
    closeQuietly(readFd);
    closeQuietly(writeFd);
    fs.rmSync(tmp, { recursive: true, force: true });
  });
}

function runWorker(code: string, workerData: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData });
    w.once("message", resolve);
    w.once("error", reject);
    w.once("exit", (c) => (c === 0 ? undefined : reject(new Error(`worker exit ${c}`))));
  });
}

void test("stdio: filetype of regular files, character devices and pipes; not seekable", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twine-stdio-"));
  const file = fs.openSync(path.join(tmp, "out"), "w+");
  const devnull = fs.openSync("/dev/null", "r+");
  try {
    const f = new StdioHandle(file);
    assert.equal(f.filetype, FILETYPE.REGULAR_FILE);
    assert.equal(f.seekable, false);
    assert.equal(new StdioHandle(devnull).filetype, FILETYPE.CHARACTER_DEVICE);
    assert.equal(f.pwrite(new TextEncoder().encode("abc"), 100n), 3); // position ignored
    assert.equal(f.stat().size, 3n);
    assert.equal(f.stat().filetype, FILETYPE.REGULAR_FILE);
    assert.throws(() => f.setSize(0n), { code: "wasi.inval" });
    assert.throws(() => f.setTimes({ kind: "now" }, { kind: "now" }), { code: "wasi.perm" });
    f.sync(false);
    f.close();
    assert.throws(() => f.pwrite(new Uint8Array(1), 0n), { code: "wasi.badf" });
    fs.fstatSync(file); // the host fd stays open: it belongs to the process
    await withFifo(async (r, w) => {
      assert.equal(new StdioHandle(r).filetype, FILETYPE.UNKNOWN);
      assert.equal(new StdioHandle(w).filetype, FILETYPE.UNKNOWN);
      new StdioHandle(w).sync(true); // a pipe has nothing to flush
      await Promise.resolve();
    });
  } finally {
    fs.closeSync(file);
    fs.closeSync(devnull);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

void test("stdio: past its limit a handle drops output but reports it written", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twine-stdio-"));
  const file = path.join(tmp, "out");
  const fd = fs.openSync(file, "w");
  try {
    const h = new StdioHandle(fd, 10);
    assert.equal(h.pwrite(pattern(6), 0n), 6);
    assert.equal(h.pwrite(pattern(6), 0n), 6);
    assert.equal(h.pwrite(pattern(100), 0n), 100);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), Uint8Array.from([...pattern(6), ...pattern(4)]));
  } finally {
    fs.closeSync(fd);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

void test("stdio: a write into a full non-blocking pipe retries through EAGAIN until all is written", async () => {
  const size = 1 << 20;
  await withFifo(async (readFd, writeFd) => {
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      const fs = require("node:fs");
      import(workerData.url).then(({ StdioHandle }) => {
        // Fill the pipe first, so the handle's write must meet EAGAIN.
        let pre = 0, sawAgain = false;
        const chunk = new Uint8Array(4096);
        for (;;) {
          try { pre += fs.writeSync(workerData.fd, chunk); } catch (e) { sawAgain = e.code === "EAGAIN"; break; }
        }
        const buf = new Uint8Array(workerData.size);
        for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + 3) % 251;
        const n = new StdioHandle(workerData.fd).pwrite(buf, 0n);
        parentPort.postMessage({ pre, sawAgain, n });
      });`;
    const done = runWorker(code, { url: stdioUrl, fd: writeFd, size });
    const chunks: Buffer[] = [];
    let finished: { pre: number; sawAgain: boolean; n: number } | undefined;
    let failed = false;
    void done.then(
      (m) => (finished = m as typeof finished),
      () => (failed = true),
    );
    await sleep(100); // let the writer block on a full pipe for a while
    const buf = Buffer.alloc(65536);
    for (;;) {
      let n = 0;
      try {
        n = fs.readSync(readFd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as { code?: string }).code !== "EAGAIN") throw e;
      }
      if (n > 0) chunks.push(Buffer.from(buf.subarray(0, n)));
      const total = chunks.reduce((s, c) => s + c.length, 0);
      if (failed || (finished !== undefined && total === finished.pre + size)) break;
      if (n === 0) await sleep(1);
    }
    await done;
    assert.ok(finished);
    assert.equal(finished.sawAgain, true);
    assert.equal(finished.n, size);
    const all = Buffer.concat(chunks);
    assert.ok(all.subarray(finished.pre).equals(Buffer.from(pattern(size))));
  });
});

void test("stdio: a read waits through EAGAIN for data and returns 0 at end of input", async () => {
  await withFifo(async (readFd, writeFd) => {
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      import(workerData.url).then(({ StdioHandle }) => {
        const h = new StdioHandle(workerData.fd);
        const buf = new Uint8Array(1000);
        const got = [];
        for (;;) {
          const n = h.pread(buf, 0n);
          if (n === 0) break;
          got.push(...buf.subarray(0, n));
        }
        parentPort.postMessage(got);
      });`;
    const done = runWorker(code, { url: stdioUrl, fd: readFd });
    const data = pattern(3000);
    for (let off = 0; off < data.length; off += 1000) {
      await sleep(20);
      fs.writeSync(writeFd, data, off, 1000);
    }
    await sleep(20);
    fs.closeSync(writeFd); // end of input for the reader
    assert.deepEqual(await done, [...data]);
  });
});

void test("stdio: a worker thread writes to the process's real fd 1", async () => {
  const size = 3 << 20;
  const workerCode = `
    const { workerData } = require("node:worker_threads");
    import(workerData.url).then(({ StdioHandle }) => {
      const buf = new Uint8Array(workerData.size);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 7 + 3) % 251;
      if (new StdioHandle(1).pwrite(buf, 0n) !== buf.length) process.exit(4);
    });`;
  const main = `
    const { Worker } = require("node:worker_threads");
    // Touching process.stdout makes Node set O_NONBLOCK on fd 1, as the CLI will: EAGAIN follows.
    if (!process.stdout.writable) process.exit(5);
    const flags = require("node:fs").readFileSync("/proc/self/fdinfo/1", "utf8").match(/flags:\\s*(\\d+)/)[1];
    if ((parseInt(flags, 8) & require("node:fs").constants.O_NONBLOCK) === 0) process.exit(6);
    const w = new Worker(${JSON.stringify(workerCode)}, { eval: true, workerData: ${JSON.stringify({ url: stdioUrl, size })} });
    w.on("exit", (c) => process.exit(c));`;
  const child = spawn(process.execPath, ["--no-turbo-fast-api-calls", "-e", main], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout.pause();
  await sleep(200); // the child's writer meets a full pipe before we read
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  child.stdout.resume();
  const status = await new Promise<number | null>((resolve) => child.once("close", resolve));
  assert.equal(status, 0);
  const out = Buffer.concat(chunks);
  assert.equal(out.length, size);
  assert.ok(out.equals(Buffer.from(pattern(size))));
});

void test("stdio: a terminal is a CHARACTER_DEVICE", (t) => {
  // util-linux `script` gives the child a pseudo-terminal as fd 0/1/2.
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
  } catch {
    t.skip("util-linux `script` is not installed: no pseudo-terminal to test with");
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twine-stdio-"));
  try {
    const out = path.join(tmp, "out");
    const js = `import(${JSON.stringify(stdioUrl)}).then(({ StdioHandle }) => require("node:fs").writeFileSync(${JSON.stringify(out)}, String(new StdioHandle(1).filetype)))`;
    const cmd = `${JSON.stringify(process.execPath)} -e ${shellQuote(js)}`;
    execFileSync("script", ["-qec", cmd, "/dev/null"], { stdio: "ignore", timeout: 30_000 });
    assert.equal(fs.readFileSync(out, "utf8"), String(FILETYPE.CHARACTER_DEVICE));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
