// The jobs of `twine serve`: each one the same fixed launch, with its own protected volumes under
// `<state>/jobs/<SHA-256 of the id>/`, keyed by the key its owner uploaded. A job is a 128-bit random
// capability returned only to its creator; the host sees only its hash, in folder names and log tags.
// At most `concurrency` guests run at once (each in its own worker, through Runtime); the rest wait in
// a FIFO queue. A guest that traps, spins or runs out of memory
// ends its own job only; its owner can cancel it, queued or running.
import { randomBytes, createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readSync, rmSync } from "node:fs";
import { join } from "node:path";
import { TwineError, isTwineError } from "../errors.js";
import { PfsMount } from "../pfs/pfs-mount.js";
import { RootStore } from "../pfs/root-store.js";
import { Runtime, type RunOptions, type RunTeeOptions } from "../runtime/runtime.js";
import type { Tiering } from "../runtime/tiering.js";
import { FILETYPE, openOptions, type FileHandle } from "../vfs/types.js";
import type { MountConfig } from "../vfs/index.js";

/** What every job runs: fixed when the server starts, and measured into its launch hash. */
export interface JobSpec {
  module: Uint8Array;
  /** The guest's argv[0] (not part of the launch; `twine serve` passes the module's file name). */
  argv0?: string;
  /** Guest arguments after argv[0]. */
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** mem mounts and read-only host mounts, shared by no job (mem) or read by all (host). */
  mounts: readonly MountConfig[];
  /** Guest paths of the per-job protected volumes (mounted after `mounts`, as `twine run` orders them). */
  pfs: readonly string[];
  timeoutMs: number;
  maxMemoryBytes: number;
  maxOpenFds?: number;
  tiering?: Tiering;
  tee?: RunTeeOptions;
}

export type JobState = "created" | "queued" | "running" | "exited" | "failed";

export interface JobStatus {
  id: string;
  state: JobState;
  exitCode?: number;
  error?: { code: string; message: string };
  /** Captured guest output (base64), at most `outputCapBytes` each. */
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

interface Job {
  readonly id: string;
  /** What logs show instead of the id: the id is a capability, and the log is the operator's. */
  readonly tag: string;
  readonly dir: string;
  state: JobState;
  key?: Buffer;
  /** The job's volumes, open on the main thread from key upload until start. */
  volumes: PfsMount[];
  uploads: number;
  exitCode?: number;
  error?: { code: string; message: string };
  waiters: Set<() => void>;
  /** Aborted by `cancel`: stops the guest through the runtime, the same path as its timeout. */
  readonly stop: AbortController;
}

export interface JobLimits {
  /** Live jobs (any state) at most; creation beyond is `serve.full`. */
  maxJobs: number;
  /** Largest uploaded file. */
  maxFileBytes: number;
  /** Captured stdout and stderr returned per job. */
  outputCapBytes: number;
}

const KEY_BYTES = 32;
const CHUNK = 1 << 20;

/**
 * The name of a job's folder under `<state>/jobs/`: the id's SHA-256, never the id. The state folder is
 * the host's to read, and whoever knows an id holds the job (its outputs in plaintext, over the
 * attested channel): the id must not be recoverable from anything the host sees.
 */
export function jobFolderName(id: string): string {
  return createHash("sha256").update(id).digest("hex");
}

/** What logs show of a job: a prefix of its folder name, so the operator can match the two. */
function jobTag(id: string): string {
  return jobFolderName(id).slice(0, 12);
}

function stateError(message: string): TwineError {
  return new TwineError("serve.state", message);
}

function hasEnded(job: Job): boolean {
  return job.state === "exited" || job.state === "failed";
}

function cancelledError(): TwineError {
  return new TwineError("serve.cancelled", "the job was cancelled by its owner");
}

/** "/data/in/x.csv" within mount "/data" → ["in", "x.csv"]; undefined when not under it. */
function under(mountPath: string, path: readonly string[]): string[] | undefined {
  const m = mountPath.split("/").filter((s) => s !== "");
  if (path.length <= m.length || m.some((c, i) => path[i] !== c)) return undefined;
  return path.slice(m.length);
}

function checkGuestPath(path: readonly string[]): void {
  if (path.length === 0) throw new TwineError("serve.bad_request", "empty guest path");
  for (const c of path) {
    if (c === "." || c === ".." || c.includes("\0") || c.includes("/"))
      throw new TwineError("serve.bad_request", `guest path components may not be ".", ".." or hold NUL`);
  }
}

/**
 * Each job's volumes record their last root in the job's own folder, so the host cannot hand a later
 * step of the job (the run, a download) an older copy of its volume; deleting the job removes it too.
 */
function rootsOf(job: { dir: string }): RootStore {
  return new RootStore(job.dir);
}

export class JobManager {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private running = 0;

  constructor(
    private readonly spec: JobSpec,
    private readonly stateDir: string,
    private readonly concurrency: number,
    private readonly limits: JobLimits,
  ) {
    if (!(Number.isSafeInteger(concurrency) && concurrency > 0))
      throw new TwineError("serve.options", `jobs must be a positive integer, got ${concurrency}`);
    mkdirSync(join(stateDir, "jobs"), { recursive: true });
  }

  create(): { id: string; tag: string } {
    if (this.jobs.size >= this.limits.maxJobs)
      throw new TwineError("serve.full", `the server holds ${this.limits.maxJobs} jobs; delete some first`);
    const id = randomBytes(16).toString("hex");
    const dir = join(this.stateDir, "jobs", jobFolderName(id));
    mkdirSync(dir);
    const job: Job = {
      id,
      tag: jobTag(id),
      dir,
      state: "created",
      volumes: [],
      uploads: 0,
      waiters: new Set(),
      stop: new AbortController(),
    };
    this.jobs.set(id, job);
    return { id, tag: job.tag };
  }

  private get(id: string): Job {
    const job = this.jobs.get(id);
    if (job === undefined) throw new TwineError("serve.no_job", "no such job");
    return job;
  }

  tagOf(id: string): string | undefined {
    return this.jobs.get(id)?.tag;
  }

  /** Sets the job's volume key once and creates its (empty) volumes with it. */
  setKey(id: string, key: Uint8Array): void {
    const job = this.get(id);
    if (job.state !== "created") throw stateError("the job has started");
    if (job.key !== undefined) throw stateError("the job's key is already set");
    if (key.length !== KEY_BYTES)
      throw new TwineError("serve.bad_request", `the key must be ${KEY_BYTES} bytes`);
    job.key = Buffer.from(key);
    try {
      for (let i = 0; i < this.spec.pfs.length; i++)
        job.volumes.push(PfsMount.create(this.volumeDir(job, i), job.key, { rootStore: rootsOf(job) }));
    } catch (e) {
      for (const v of job.volumes.splice(0)) v.close();
      for (let i = 0; i < this.spec.pfs.length; i++)
        rmSync(this.volumeDir(job, i), { recursive: true, force: true });
      delete job.key;
      throw e;
    }
  }

  private volumeDir(job: Job, index: number): string {
    return join(job.dir, `volume-${index}`);
  }

  /** Which volume a guest path lies in, and the path inside it. */
  private locate(path: readonly string[]): { index: number; inner: string[] } {
    checkGuestPath(path);
    for (let i = 0; i < this.spec.pfs.length; i++) {
      const inner = under(this.spec.pfs[i]!, path);
      if (inner !== undefined) return { index: i, inner };
    }
    throw new TwineError("serve.not_found", "the path is in no protected volume of this launch");
  }

  /**
   * An upload into the job's volume: `write` each chunk in order, then `commit`, or `abort` (the
   * partial file is removed, so a dropped connection leaves no half file behind).
   */
  beginUpload(
    id: string,
    path: readonly string[],
  ): { write: (chunk: Uint8Array) => void; commit: () => void; abort: () => void } {
    const job = this.get(id);
    if (job.state !== "created") throw stateError("files can be uploaded only before the job starts");
    if (job.key === undefined) throw stateError("upload the job's key first");
    const { index, inner } = this.locate(path);
    const volume = job.volumes[index]!;
    for (let i = 1; i < inner.length; i++) {
      const dir = inner.slice(0, i);
      try {
        volume.mkdir(dir);
      } catch (e) {
        if (!isTwineError(e, "wasi.exist") || volume.lstat(dir).filetype !== FILETYPE.DIRECTORY) throw e;
      }
    }
    const handle: FileHandle = volume.open(inner, openOptions({ write: true, create: true, truncate: true }));
    job.uploads++;
    let pos = 0;
    let done = false;
    const finish = (): void => {
      done = true;
      job.uploads--;
      handle.close();
    };
    return {
      write: (chunk) => {
        if (pos + chunk.length > this.limits.maxFileBytes)
          throw new TwineError("serve.too_large", `files are at most ${this.limits.maxFileBytes} bytes`);
        handle.pwrite(chunk, BigInt(pos));
        pos += chunk.length;
      },
      commit: () => {
        finish();
        volume.sync();
      },
      abort: () => {
        if (done) return;
        finish();
        volume.unlink(inner);
        volume.sync();
      },
    };
  }

  start(id: string): void {
    const job = this.get(id);
    if (job.state !== "created") throw stateError("the job has already started");
    if (this.spec.pfs.length > 0 && job.key === undefined) throw stateError("upload the job's key first");
    if (job.uploads > 0) throw new TwineError("serve.busy", "an upload to this job is in progress");
    // The worker opens the volumes itself: the main thread's copies are committed and closed first.
    for (const v of job.volumes.splice(0)) v.close();
    job.state = "queued";
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    while (this.running < this.concurrency) {
      const job = this.queue.shift();
      if (job === undefined) return;
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.wake(job);
        this.pump();
      });
    }
  }

  private async run(job: Job): Promise<void> {
    job.state = "running";
    this.wake(job);
    const s = this.spec;
    const fds: number[] = [];
    try {
      const stdin = openSync("/dev/null", "r");
      fds.push(stdin);
      const stdout = openSync(join(job.dir, "stdout"), "w");
      fds.push(stdout);
      const stderr = openSync(join(job.dir, "stderr"), "w");
      fds.push(stderr);
      const key = job.key ?? Buffer.alloc(0);
      const options: RunOptions = {
        args: [...s.args],
        env: { ...s.env },
        mounts: [
          ...s.mounts,
          ...s.pfs.map((guestPath, i): MountConfig => ({
            type: "pfs",
            guestPath,
            hostPath: this.volumeDir(job, i),
            key,
            create: false,
            rootStore: job.dir,
          })),
        ],
        stdin,
        stdout,
        stderr,
        timeoutMs: s.timeoutMs,
        maxMemoryBytes: s.maxMemoryBytes,
        // One byte past the cap, so the status can say the output was truncated.
        outputLimitBytes: this.limits.outputCapBytes + 1,
        signal: job.stop.signal,
      };
      if (s.argv0 !== undefined) options.argv0 = s.argv0;
      if (s.maxOpenFds !== undefined) options.maxOpenFds = s.maxOpenFds;
      if (s.tiering !== undefined) options.tiering = s.tiering;
      if (s.tee !== undefined) options.tee = s.tee;
      const result = await new Runtime(options).run(s.module);
      if (result.status === "exited") {
        job.state = "exited";
        job.exitCode = result.exitCode;
      } else {
        job.state = "failed";
        job.error = { code: result.error.code, message: result.error.message };
      }
    } catch (e) {
      job.state = "failed";
      job.error = isTwineError(e)
        ? { code: e.code, message: e.message }
        : { code: "internal", message: "the job could not run" };
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** Resolves when the job has ended or was deleted, or after `timeoutMs` when given. */
  private untilEnded(job: Job, timeoutMs?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        job.waiters.delete(check);
        resolve();
      }
      const check = (): void => {
        if (hasEnded(job) || this.jobs.get(job.id) !== job) done();
      };
      job.waiters.add(check);
    });
  }

  private wake(job: Job): void {
    for (const w of [...job.waiters]) w();
  }

  /**
   * Ends a job that has not ended, as `failed` with `serve.cancelled`: a created or queued job at
   * once (it never runs), a running one once its guest is stopped. A stopped guest's volumes keep
   * their last commit, as after a timeout. Resolves when the job has ended, so its slot is free.
   */
  async cancel(id: string): Promise<void> {
    const job = this.get(id);
    if (hasEnded(job)) throw stateError("the job has ended");
    if (job.uploads > 0) throw new TwineError("serve.busy", "an upload to this job is in progress");
    if (job.state === "running") {
      const ended = this.untilEnded(job);
      job.stop.abort(cancelledError());
      await ended;
      return;
    }
    const q = this.queue.indexOf(job);
    if (q >= 0) this.queue.splice(q, 1);
    // A created job's volumes are open here: closing commits them, so what was uploaded stays readable.
    for (const v of job.volumes.splice(0)) v.close();
    const e = cancelledError();
    job.state = "failed";
    job.error = { code: e.code, message: e.message };
    this.wake(job);
  }

  /** The job's status; with `waitMs`, waits (at most that long) for the job to end first. */
  async status(id: string, waitMs = 0): Promise<JobStatus> {
    const job = this.get(id);
    if (waitMs > 0 && !hasEnded(job)) await this.untilEnded(job, waitMs);
    const out = this.output(job, "stdout");
    const err = this.output(job, "stderr");
    const st: JobStatus = {
      id: job.id,
      state: job.state,
      stdout: out.data,
      stderr: err.data,
      stdoutTruncated: out.truncated,
      stderrTruncated: err.truncated,
    };
    if (job.exitCode !== undefined) st.exitCode = job.exitCode;
    if (job.error !== undefined) st.error = job.error;
    return st;
  }

  private output(job: Job, name: "stdout" | "stderr"): { data: string; truncated: boolean } {
    if (!hasEnded(job)) return { data: "", truncated: false };
    let fd: number;
    try {
      fd = openSync(join(job.dir, name), "r");
    } catch {
      return { data: "", truncated: false };
    }
    try {
      const cap = this.limits.outputCapBytes;
      const buf = Buffer.alloc(cap + 1);
      let n = 0;
      while (n < buf.length) {
        const got = readSync(fd, buf, n, buf.length - n, n);
        if (got === 0) break;
        n += got;
      }
      return { data: buf.subarray(0, Math.min(n, cap)).toString("base64"), truncated: n > cap };
    } finally {
      closeSync(fd);
    }
  }

  private ended(id: string): Job {
    const job = this.get(id);
    if (!hasEnded(job)) throw stateError("the job has not ended");
    return job;
  }

  /**
   * Reads a file from an ended job's volume, chunk by chunk, into `sink` (which may wait for the
   * network). The volume is opened read-only for this read.
   */
  async readFile(
    id: string,
    path: readonly string[],
    sink: (chunk: Buffer, size: number) => Promise<void>,
  ): Promise<void> {
    const job = this.ended(id);
    if (job.key === undefined) throw stateError("the job has no key");
    const { index, inner } = this.locate(path);
    const volume = PfsMount.open(this.volumeDir(job, index), job.key, {
      readonly: true,
      rootStore: rootsOf(job),
    });
    try {
      const h = volume.open(inner, openOptions({ read: true }));
      try {
        const st = h.stat();
        if (st.filetype !== FILETYPE.REGULAR_FILE) throw new TwineError("wasi.isdir", "not a regular file");
        const size = Number(st.size);
        const buf = Buffer.allocUnsafe(CHUNK);
        for (let pos = 0; ;) {
          const n = h.pread(buf, BigInt(pos));
          if (n === 0) break;
          await sink(Buffer.from(buf.subarray(0, n)), size);
          pos += n;
        }
        if (size === 0) await sink(Buffer.alloc(0), 0);
      } finally {
        h.close();
      }
    } finally {
      volume.close();
    }
  }

  /** Host path of an ended job's raw (encrypted) volume file: `super` or `nodes`. */
  volumeFile(id: string, mount: string | undefined, name: string): string {
    const job = this.ended(id);
    if (name !== "super" && name !== "nodes")
      throw new TwineError("serve.not_found", "volume files are `super` and `nodes`");
    let index = 0;
    if (mount !== undefined) {
      index = this.spec.pfs.findIndex(
        (p) =>
          p
            .split("/")
            .filter((s) => s !== "")
            .join("/") ===
          mount
            .split("/")
            .filter((s) => s !== "")
            .join("/"),
      );
      if (index < 0) throw new TwineError("serve.not_found", "no protected volume at that guest path");
    } else if (this.spec.pfs.length !== 1) {
      throw new TwineError(
        "serve.bad_request",
        this.spec.pfs.length === 0
          ? "this launch has no protected volume"
          : "name the volume with ?mount=GUEST_PATH",
      );
    }
    return join(this.volumeDir(job, index), name);
  }

  /** Deletes a job that is not running, with its files. */
  delete(id: string): void {
    const job = this.get(id);
    if (job.state === "running") throw new TwineError("serve.busy", "the job is running: cancel it first");
    if (job.uploads > 0) throw new TwineError("serve.busy", "an upload to this job is in progress");
    const q = this.queue.indexOf(job);
    if (q >= 0) this.queue.splice(q, 1);
    for (const v of job.volumes.splice(0)) v.close();
    this.jobs.delete(id);
    this.wake(job);
    rmSync(job.dir, { recursive: true, force: true });
  }

  /** Closes what is open (server shutdown); running guests finish on their own. */
  close(): void {
    for (const job of this.jobs.values()) for (const v of job.volumes.splice(0)) v.close();
  }
}
