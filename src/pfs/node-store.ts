// The untrusted host side of a volume: a directory with two files, `super` (two alternating slots
// holding signed volume roots) and `nodes` (an array of sealed nodes of the volume's node size, addressed by slot).
// Nothing here is trusted: reads are authenticated by the callers. A commit is "fdatasync nodes,
// pwrite the superblock into the slot not holding the current version, fdatasync super": a crash
// leaves the old slot intact, so the volume opens at the old or the new version. Only the very
// first commit creates `super`, under a temporary name renamed into place.
import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fsyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  writeSync,
  writevSync,
} from "node:fs";
import { join } from "node:path";
import { TwineError } from "../errors.js";
import { SUPER_FILE_SIZE, SUPER_SLOTS, SUPER_SLOT_SIZE, checkSuperHeader, integrity } from "./format.js";

export const SUPER_FILE = "super";
export const NODES_FILE = "nodes";
const SUPER_TMP = "super.tmp";

function hostError(op: string, e: unknown): TwineError {
  return new TwineError("io.host", `pfs host ${op} failed`, { cause: e });
}

/** pwrite that finishes a short write (a regular file rarely returns one, but may). */
function writeFully(fd: number, b: Buffer, pos: number): void {
  for (let n = 0; n < b.length;) n += writeSync(fd, b, n, b.length - n, pos + n);
}

export interface StoreOptions {
  readonly: boolean;
  /** Called before every host write, sync or rename; crash tests kill the process from here. */
  onHostWrite?: (() => void) | undefined;
}

/** Bytes of sealed nodes waiting to be written; runs of adjacent slots go out in one writev. */
const MAX_PENDING_BYTES = 256 * 1024;
/**
 * After this many node bytes written, a background fdatasync (on libuv's thread pool) starts
 * pushing them to the disk while sealing goes on, so a commit's own fdatasync finds little left.
 */
const BACKGROUND_SYNC_BYTES = 4 * 1024 * 1024;
/** Bytes fetched by one pread when reads go sequentially (at least one node). */
const READ_AHEAD_BYTES = 128 * 1024;

export class NodeStore {
  private readonly fd: number;
  private readonly hook: (() => void) | undefined;
  private readonly pending = new Map<number, Buffer>();
  /** The volume's node size: 0 until `useNodeSize` (it is in the superblock, read through this store). */
  private nodeSize = 0;
  private readAhead = 0;
  private maxPending = 0;
  /** Read buffer: slots [aheadFirst, aheadFirst + aheadCount) as last read from the host. */
  private ahead = Buffer.alloc(0);
  private aheadFirst = 0;
  private aheadCount = 0;
  private lastRead = -2;
  /** `super`, kept open between commits; null until the first commit of a new volume. */
  private superFd: number | null;
  /** Node bytes written since the last background fdatasync was started. */
  private unsynced = 0;

  private constructor(
    readonly dir: string,
    fd: number,
    superFd: number | null,
    private readonly opts: StoreOptions,
  ) {
    this.fd = fd;
    this.superFd = superFd;
    this.hook = opts.onHostWrite;
  }

  /** Makes an empty volume directory (it must be missing or empty). */
  static init(dir: string): void {
    try {
      mkdirSync(dir, { recursive: true });
      if (readdirSync(dir).length !== 0) throw new TwineError("wasi.exist", "volume directory is not empty");
      closeSync(openSync(join(dir, NODES_FILE), "wx"));
    } catch (e) {
      if (e instanceof TwineError) throw e;
      throw hostError("create", e);
    }
  }

  static open(dir: string, opts: StoreOptions): NodeStore {
    if (!existsSync(join(dir, SUPER_FILE)) && !existsSync(join(dir, NODES_FILE)))
      throw new TwineError("pfs.format", "not a pfs volume (no superblock)");
    if (!existsSync(join(dir, NODES_FILE))) throw integrity("node store is missing");
    const flags = opts.readonly ? "r" : "r+";
    let fd: number | undefined;
    try {
      fd = openSync(join(dir, NODES_FILE), flags);
      const superFd = existsSync(join(dir, SUPER_FILE)) ? openSync(join(dir, SUPER_FILE), flags) : null;
      return new NodeStore(dir, fd, superFd, opts);
    } catch (e) {
      if (fd !== undefined) closeSync(fd);
      throw hostError("open", e);
    }
  }

  /** Sets the node size once, from the authenticated superblock (or creation), before any node I/O. */
  useNodeSize(nodeSize: number): void {
    if (this.nodeSize !== 0) throw new TwineError("internal", "pfs node size set twice");
    this.nodeSize = nodeSize;
    this.readAhead = Math.max(1, READ_AHEAD_BYTES / nodeSize);
    this.maxPending = Math.max(1, MAX_PENDING_BYTES / nodeSize);
    this.ahead = Buffer.allocUnsafe(this.readAhead * nodeSize);
  }

  private get size(): number {
    if (this.nodeSize === 0) throw new TwineError("internal", "pfs node I/O before the node size is known");
    return this.nodeSize;
  }

  /**
   * One sealed node, as a view into a reused read buffer (no allocation, no zero-fill) that stays
   * valid until the next read. A read of the slot after the previous one fetches up to READ_AHEAD
   * adjacent slots in the same pread (files written in order sit in consecutive slots); random
   * reads fetch one node. Whatever comes back is authenticated by the caller, node by node.
   */
  read(slot: number): Buffer {
    const size = this.size;
    if (this.pending.size > 0) this.flush();
    const sequential = slot === this.lastRead + 1;
    this.lastRead = slot;
    if (slot >= this.aheadFirst && slot < this.aheadFirst + this.aheadCount) {
      const at = (slot - this.aheadFirst) * size;
      return this.ahead.subarray(at, at + size);
    }
    const want = sequential ? this.readAhead : 1;
    let n: number;
    try {
      n = readSync(this.fd, this.ahead, 0, want * size, slot * size);
    } catch (e) {
      throw hostError("read", e);
    }
    if (n < size) throw integrity("node store is truncated");
    this.aheadFirst = slot;
    this.aheadCount = Math.floor(n / size);
    return this.ahead.subarray(0, size);
  }

  /** Queues a sealed node; it reaches the host before any read and before the commit's fdatasync. */
  write(slot: number, data: Buffer): void {
    if (data.length !== this.size) throw new TwineError("internal", "pfs node of the wrong size");
    this.hook?.();
    this.pending.set(slot, data);
    if (this.pending.size >= this.maxPending) this.flush();
  }

  private flush(): void {
    this.aheadCount = 0; // the window may hold older contents of the slots written now
    const slots = [...this.pending.keys()].sort((a, b) => a - b);
    try {
      for (let i = 0; i < slots.length;) {
        const first = slots[i] ?? 0;
        const run: Buffer[] = [];
        while (i < slots.length && slots[i] === first + run.length) {
          run.push(this.pending.get(first + run.length) ?? Buffer.alloc(0));
          i++;
        }
        const pos = first * this.nodeSize;
        const total = run.length * this.nodeSize;
        let n = writevSync(this.fd, run, pos);
        if (n < total) {
          // A short writev: finish the run from where it stopped.
          const rest = Buffer.concat(run);
          while (n < total) n += writeSync(this.fd, rest, n, total - n, pos + n);
        }
        this.unsynced += total;
      }
      if (this.unsynced >= BACKGROUND_SYNC_BYTES) this.syncInBackground();
    } catch (e) {
      throw hostError("write", e);
    } finally {
      this.pending.clear();
    }
  }

  /**
   * Starts an fdatasync of `nodes` on the thread pool and returns at once. It only makes written
   * nodes durable sooner: ordering still comes from the commit's own fdatasync before the
   * superblock. Its callback may only run much later (a guest keeps its thread's event loop busy),
   * so nothing waits on it, and a failure is ignored here because the commit's fdatasync reports
   * it. One is started per BACKGROUND_SYNC_BYTES written, so at most that many bytes wait on each.
   * If the store is closed before it runs, it fails with EBADF, or at worst syncs whatever file
   * reused the descriptor number: no data is touched either way.
   */
  private syncInBackground(): void {
    this.unsynced = 0;
    fdatasync(this.fd, () => {});
  }

  sizeInSlots(): number {
    return Math.floor(fstatSync(this.fd).size / this.size);
  }

  /**
   * The superblock slots as the host holds them (hostile: the caller authenticates each). A file of
   * another size is refused, naming the format version if it is a pfs volume of another one.
   */
  readSupers(): Buffer[] {
    if (this.superFd === null) throw integrity("superblock is missing");
    const b = Buffer.alloc(SUPER_FILE_SIZE + 1);
    let n = 0;
    try {
      for (let r = -1; r !== 0 && n < b.length; n += r) r = readSync(this.superFd, b, n, b.length - n, n);
    } catch (e) {
      throw hostError("read", e);
    }
    if (n !== SUPER_FILE_SIZE) {
      checkSuperHeader(b.subarray(0, n));
      throw integrity("superblock file has the wrong size");
    }
    return Array.from({ length: SUPER_SLOTS }, (_, i) =>
      b.subarray(i * SUPER_SLOT_SIZE, (i + 1) * SUPER_SLOT_SIZE),
    );
  }

  /**
   * The commit point: the nodes are made durable first, then the new superblock goes into `slot`,
   * which must not be the slot of the committed version (that one stays intact until this write is
   * durable, so a torn write leaves it to fall back on).
   */
  commitSuper(b: Buffer, slot: number): void {
    if (this.pending.size > 0) this.flush();
    try {
      this.hook?.();
      // fdatasync covers the data and the size needed to read it back; it skips mtime-only journal
      // commits. A superblock must never reach the disk before the nodes it references.
      fdatasyncSync(this.fd);
      this.unsynced = 0;
      if (this.superFd === null) {
        this.createSuper(b, slot);
        return;
      }
      this.hook?.();
      writeFully(this.superFd, b, slot * SUPER_SLOT_SIZE);
      this.hook?.();
      fdatasyncSync(this.superFd);
    } catch (e) {
      throw hostError("commit", e);
    }
  }

  /** First commit: `super` appears whole (other slot zero) or not at all, and its name is durable. */
  private createSuper(b: Buffer, slot: number): void {
    const file = Buffer.alloc(SUPER_FILE_SIZE);
    b.copy(file, slot * SUPER_SLOT_SIZE);
    const tmp = join(this.dir, SUPER_TMP);
    const fd = openSync(tmp, "w");
    try {
      this.hook?.();
      writeFully(fd, file, 0);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.hook?.();
    renameSync(tmp, join(this.dir, SUPER_FILE));
    const dfd = openSync(this.dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    this.superFd = openSync(join(this.dir, SUPER_FILE), "r+");
  }

  get readonly(): boolean {
    return this.opts.readonly;
  }

  /** Queued nodes not yet committed are dropped: nothing references them. */
  close(): void {
    this.pending.clear();
    closeSync(this.fd);
    if (this.superFd !== null) closeSync(this.superFd);
    this.superFd = null;
  }
}

/**
 * Slot states: free, live in the committed state, allocated since the last commit, or live in the
 * committed state but already replaced (reusable only after the next commit, or a crash would
 * leave the committed tree pointing at overwritten nodes).
 */
const FREE = 0;
const COMMITTED = 1;
const FRESH = 2;
const RETIRED = 3;

export class SlotAllocator {
  private state: Uint8Array;
  private free: number[] = [];
  private fresh: number[] = [];
  private retired: number[] = [];
  /** One past the highest slot ever handed out: the committed store length. */
  private high: number;

  constructor(slotCount: number) {
    this.high = slotCount;
    this.state = new Uint8Array(Math.max(64, slotCount));
  }

  /** Marks a slot reachable from the committed root (volume open); a slot reached twice is corrupt. */
  markCommitted(slot: number): void {
    if (slot >= this.high) throw integrity("node reference beyond the committed store");
    if (this.state[slot] !== FREE) throw integrity("a node is referenced twice");
    this.state[slot] = COMMITTED;
  }

  /** After marking: everything unmarked below `high` is free; low slots first keeps the store dense. */
  finishMarking(): void {
    for (let s = this.high - 1; s >= 0; s--) if (this.state[s] === FREE) this.free.push(s);
  }

  alloc(): number {
    let s = this.free.pop();
    if (s === undefined) {
      s = this.high++;
      if (s >= this.state.length) {
        const grown = new Uint8Array(this.state.length * 2);
        grown.set(this.state);
        this.state = grown;
      }
    }
    this.state[s] = FRESH;
    this.fresh.push(s);
    return s;
  }

  release(slot: number): void {
    const st = this.state[slot];
    if (st === FRESH) {
      this.state[slot] = FREE;
      this.free.push(slot);
    } else if (st === COMMITTED) {
      this.state[slot] = RETIRED;
      this.retired.push(slot);
    } else {
      throw new TwineError("internal", "pfs released a slot twice");
    }
  }

  /** Called once the new superblock is durable. */
  committed(): void {
    for (const s of this.fresh) if (this.state[s] === FRESH) this.state[s] = COMMITTED;
    for (const s of this.retired) {
      this.state[s] = FREE;
      this.free.push(s);
    }
    this.fresh = [];
    this.retired = [];
  }

  get slotCount(): number {
    return this.high;
  }

  get liveCount(): number {
    let n = 0;
    for (let s = 0; s < this.high; s++) if (this.state[s] === COMMITTED || this.state[s] === FRESH) n++;
    return n;
  }
}
