// The protected volume: an inode table and per-file Merkle trees of sealed nodes (4–64 KiB, fixed
// per volume), with a
// bounded LRU node cache, copy-on-write node updates and an atomic superblock switch on commit.
//
// Invariants this file relies on (see docs/PFS-FORMAT.md):
// - Every node with a slot has its reference in its parent's current content (a cached parent's
//   buffer, else the parent on disk), or in its owner's root. A cached node's `ref` equals it.
// - Slots referenced by the committed superblock are never overwritten before the next commit.
// - Bytes past a file's size inside its last node are zero (truncate zeroes them), so growing a
//   file or writing past its end reads back zeros without touching those bytes again.
import { randomBytes } from "node:crypto";
import { TwineError, isTwineError, wasiError } from "../errors.js";
import {
  AAD_SIZE,
  DEFAULT_NODE_SIZE,
  INODE_SIZE,
  MAX_FILE_SIZE,
  REF_SIZE,
  ROOT_INO,
  SUPER,
  SUPER_SLOTS,
  TABLE_INO,
  TABLE_KIND,
  decodeDir,
  decodeInode,
  decodeRef,
  decodeSuper,
  encodeAad,
  encodeDir,
  encodeInode,
  encodeRef,
  encodeSuper,
  geometry,
  integrity,
  type DirEntryRecord,
  type Geometry,
  type InodeRecord,
  type NodeRef,
  type SuperblockFields,
} from "./format.js";
import { deriveKeys, equalBytes, macSuper, type VolumeKeys } from "./keys.js";
import { NodeStore, SlotAllocator } from "./node-store.js";
import { openNode, sealNode } from "./node-seal.js";
import type { RootRecord, RootStore } from "./root-store.js";

const MAX_INO = 2 ** 32;
/**
 * Spare node buffers kept for reuse, as a share of the cache: a deleted file (SQLite's rollback
 * journal, every transaction) hands its buffers to the next one instead of to the allocator.
 */
const POOL_SHARE = 0.5;
/** Default node cache, in bytes whatever the node size (2048 nodes of 4 KiB, 256 of 32 KiB). */
const DEFAULT_CACHE_BYTES = 8 * 1024 * 1024;

/** What a caller remembers about a volume to detect a rollback: the version and the root MAC. */
export interface TrustedRoot {
  version: bigint;
  rootHash: Uint8Array;
}

export interface VolumeOptions {
  readonly?: boolean;
  /** Last trusted root: an older volume fails with `pfs.rollback`, a fork with `pfs.integrity`. */
  trusted?: TrustedRoot | undefined;
  /**
   * Where the last root of each volume is recorded between runs (none by default): opening checks
   * the volume against its record as against `trusted`, and every commit updates the record.
   */
  rootStore?: RootStore | undefined;
  /** Node cache capacity in nodes of the volume's size (default 8 MiB worth, at least 16). */
  cacheNodes?: number;
  /**
   * `create` only: the node size, a power of two from 4 KiB to 64 KiB (default 4 KiB). Recorded in
   * the superblock; `open` reads it from there.
   */
  nodeSize?: number;
  /** Called before every host write (crash tests). */
  onHostWrite?: (() => void) | undefined;
  /** Clock in ns since the epoch (tests pin it). */
  now?: () => bigint;
}

export interface Inode extends InodeRecord {
  readonly ino: number;
  /** AAD kind: the witx filetype, or TABLE_KIND for the inode table. */
  readonly kind: number;
  /** The record (or, for the table, the superblock) must be rewritten at the next commit. */
  dirty: boolean;
  /** Parsed directory entries, loaded on first use. */
  entries: Map<string, DirEntryRecord> | null;
  entriesDirty: boolean;
  /** Open handles; an unlinked file lives until the last one closes. */
  opens: number;
  readonly nodes: Map<number, CachedNode>;
}

interface CachedNode {
  readonly owner: Inode;
  readonly level: number;
  readonly index: number;
  readonly key: number;
  buf: Buffer;
  dirty: boolean;
  ref: NodeRef | null;
  /** Pinned nodes are never evicted (a caller is editing them across cache insertions). */
  pins: number;
  /** Neighbours in the LRU list (older, newer). */
  prev: CachedNode | null;
  next: CachedNode | null;
}

/**
 * The cache's recency order, least recently used first. Intrusive (the links live in the nodes), so
 * touching a node on every access allocates and hashes nothing.
 */
class LruList {
  private head: CachedNode | null = null;
  private tail: CachedNode | null = null;
  size = 0;

  add(n: CachedNode): void {
    n.prev = this.tail;
    n.next = null;
    if (this.tail) this.tail.next = n;
    else this.head = n;
    this.tail = n;
    this.size++;
  }

  delete(n: CachedNode): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = n.next = null;
    this.size--;
  }

  touch(n: CachedNode): void {
    if (n === this.tail) return;
    this.delete(n);
    this.add(n);
  }

  /** The least recently used node that is not pinned. */
  victim(): CachedNode | null {
    for (let c = this.head; c; c = c.next) if (c.pins === 0) return c;
    return null;
  }
}

export interface NodeInfo {
  slot: number;
  ino: number;
  kind: number;
  level: number;
  index: number;
}

export interface VerifyReport {
  version: bigint;
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  nodes: number;
}

type Mode = "read" | "zero" | "overwrite";

function defaultNow(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** Small integers (V8 Smis) for files under 1 TiB keep the cache's Map lookups cheap. */
function nodeKey(level: number, index: number): number {
  return index * 8 + level;
}

/** A plain Uint8Array view: cheaper to make than a Buffer's subarray, and all `set` needs. */
function view(b: Uint8Array, offset: number, length: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + offset, length);
}

export class Volume {
  private readonly inodes = new Map<number, Inode>();
  private readonly lru = new LruList();
  private readonly pool: Buffer[] = [];
  private readonly aad = Buffer.alloc(AAD_SIZE);
  private readonly capacity: number;
  readonly geometry: Geometry;
  /** geometry.nodeSize and .fanout, read on every node access. */
  private readonly nodeSize: number;
  private readonly fanout: number;
  private readonly now: () => bigint;
  private freeInos: number[] = [];
  private inoHigh = 0;
  private evicting = false;
  private changed = false;
  private alloc: SlotAllocator;
  private table: Inode;
  private committedVersion: bigint;
  private committedHash: Buffer;
  private record: RootRecord | null = null;

  private constructor(
    private readonly store: NodeStore,
    private readonly keys: VolumeKeys,
    readonly volumeId: Buffer,
    opts: VolumeOptions,
    version: bigint,
    hash: Buffer,
    alloc: SlotAllocator,
    nodeSize: number,
  ) {
    this.geometry = geometry(nodeSize);
    this.nodeSize = nodeSize;
    this.fanout = this.geometry.fanout;
    this.capacity = Math.max(16, opts.cacheNodes ?? DEFAULT_CACHE_BYTES / nodeSize);
    this.now = opts.now ?? defaultNow;
    this.committedVersion = version;
    this.committedHash = hash;
    this.alloc = alloc;
    this.table = this.makeInode(TABLE_INO, TABLE_KIND, emptyRecord(TABLE_KIND, 0n, 0n));
  }

  /** Creates a new volume in an empty (or missing) host directory and commits version 1. */
  static create(dir: string, key: Uint8Array, opts: VolumeOptions = {}): Volume {
    const nodeSize = geometry(opts.nodeSize ?? DEFAULT_NODE_SIZE).nodeSize; // refuses a bad size early
    const volumeId = randomBytes(16);
    const keys = deriveKeys(key, volumeId);
    NodeStore.init(dir);
    const store = NodeStore.open(dir, { readonly: false, onHostWrite: opts.onHostWrite });
    store.useNodeSize(nodeSize);
    const v = new Volume(store, keys, volumeId, opts, 0n, Buffer.alloc(32), new SlotAllocator(0), nodeSize);
    try {
      v.record = opts.rootStore?.open(volumeId, keys) ?? null;
      v.inoHigh = ROOT_INO; // ino 0 is the table's own number and is never handed out
      const root = v.allocInode(3, ROOT_INO);
      root.nlink = 1;
      v.commit();
    } catch (e) {
      v.closeHandles();
      throw e;
    }
    return v;
  }

  /** Opens a volume: checks key, superblock MAC, freshness, and every index node of every tree. */
  static open(dir: string, key: Uint8Array, opts: VolumeOptions = {}): Volume {
    const store = NodeStore.open(dir, { readonly: opts.readonly ?? false, onHostWrite: opts.onHostWrite });
    let record: RootRecord | undefined;
    try {
      const { sb, keys, mac } = pickSuper(store.readSupers(), key);
      store.useNodeSize(sb.nodeSize);
      if (opts.trusted !== undefined) checkFresh(sb.version, mac, opts.trusted);
      record = opts.rootStore?.open(sb.volumeId, keys);
      if (record?.last) checkFresh(sb.version, mac, record.last);
      if (store.sizeInSlots() < sb.slotCount) throw integrity("node store is truncated");
      if (sb.tableSize % INODE_SIZE !== 0 || sb.tableSize / INODE_SIZE > MAX_INO)
        throw integrity("inode table size is malformed");
      const alloc = new SlotAllocator(sb.slotCount);
      const v = new Volume(store, keys, sb.volumeId, opts, sb.version, mac, alloc, sb.nodeSize);
      v.table.size = sb.tableSize;
      v.table.depth = sb.tableDepth;
      v.table.root = sb.tableRoot;
      v.inoHigh = sb.tableSize / INODE_SIZE;
      v.walkCommitted((n) => alloc.markCommitted(n.slot));
      alloc.finishMarking();
      const root = v.inode(ROOT_INO);
      if (root.type !== 3) throw integrity("volume root is not a directory");
      // First use (no record) or a record left one commit behind by a crash: bring it up to date.
      if (record !== undefined && (record.last === null || record.last.version < sb.version))
        record.save(v.trustedRoot);
      v.record = record ?? null;
      return v;
    } catch (e) {
      record?.close();
      store.close();
      throw e;
    }
  }

  /** The committed (version, root MAC): what a caller stores to detect a later rollback. */
  get trustedRoot(): TrustedRoot {
    return { version: this.committedVersion, rootHash: Buffer.from(this.committedHash) };
  }

  get readonly(): boolean {
    return this.store.readonly;
  }

  // ---- inodes -------------------------------------------------------------------------------

  private makeInode(ino: number, kind: number, rec: InodeRecord): Inode {
    return {
      ...rec,
      ino,
      kind,
      dirty: false,
      entries: null,
      entriesDirty: false,
      opens: 0,
      nodes: new Map(),
    };
  }

  private readRecord(ino: number): InodeRecord {
    if (ino <= TABLE_INO || ino >= this.inoHigh) throw integrity("inode number out of range");
    const b = Buffer.allocUnsafe(INODE_SIZE);
    if (this.readAt(this.table, ino * INODE_SIZE, b) !== INODE_SIZE) throw integrity("inode table is short");
    return decodeInode(b, 0, this.geometry.maxDepth);
  }

  /** Loads an allocated inode; a reference to a free one is corruption. */
  inode(ino: number): Inode {
    const cached = this.inodes.get(ino);
    if (cached) return cached;
    const rec = this.readRecord(ino);
    if (rec.type === 0) throw integrity("reference to a free inode");
    const o = this.makeInode(ino, rec.type, rec);
    this.inodes.set(ino, o);
    return o;
  }

  root(): Inode {
    return this.inode(ROOT_INO);
  }

  allocInode(type: 3 | 4 | 7, parent: number): Inode {
    this.writable();
    let ino = this.freeInos.pop();
    let generation = 1n;
    if (ino !== undefined) generation = this.readRecord(ino).generation + 1n;
    else {
      if (this.inoHigh >= MAX_INO) throw wasiError("NOSPC", "pfs inode table is full");
      ino = this.inoHigh++;
    }
    const t = this.now();
    const o = this.makeInode(ino, type, { ...emptyRecord(type, generation, t), parent });
    o.dirty = true;
    if (type === 3) {
      o.entries = new Map();
      o.entriesDirty = true;
    }
    this.inodes.set(ino, o);
    this.changed = true;
    return o;
  }

  /** Drops one name of `o`; the inode is freed when no name and no handle remain. */
  unref(o: Inode): void {
    o.nlink = Math.max(0, o.nlink - 1);
    o.ctim = this.now();
    this.touch(o);
    this.maybeDestroy(o);
  }

  /** A handle closed. */
  release(o: Inode): void {
    o.opens = Math.max(0, o.opens - 1);
    this.maybeDestroy(o);
  }

  private maybeDestroy(o: Inode): void {
    if (o.nlink > 0 || o.opens > 0 || !this.inodes.has(o.ino)) return;
    this.cut(o, 0);
    o.size = 0;
    this.inodes.delete(o.ino);
    this.writeRecord({ ...emptyRecord(0, o.generation, 0n), parent: 0 }, o.ino);
    this.freeInos.push(o.ino);
    this.changed = true;
  }

  private writeRecord(rec: InodeRecord, ino: number): void {
    const b = Buffer.allocUnsafe(INODE_SIZE);
    encodeInode(b, 0, rec);
    this.writeAt(this.table, ino * INODE_SIZE, b);
  }

  touch(o: Inode): void {
    this.writable();
    o.dirty = true;
    this.changed = true;
  }

  timestamp(): bigint {
    return this.now();
  }

  // ---- directories ----------------------------------------------------------------------------

  entries(dir: Inode): Map<string, DirEntryRecord> {
    if (dir.type !== 3) throw wasiError("NOTDIR");
    if (dir.entries === null) {
      const b = Buffer.allocUnsafe(dir.size);
      this.readAt(dir, 0, b);
      dir.entries = decodeDir(b);
    }
    return dir.entries;
  }

  /** Looks a name up; checks that what the entry promises is what the inode table holds. */
  lookup(dir: Inode, name: string): Inode | null {
    const e = this.entries(dir).get(name);
    if (e === undefined) return null;
    const o = this.inode(e.ino);
    if (o.type !== e.type) throw integrity("directory entry type disagrees with its inode");
    if (o.type === 3 && o.parent !== dir.ino) throw integrity("directory is not bound to this parent");
    return o;
  }

  addEntry(dir: Inode, name: string, o: Inode): void {
    this.entries(dir).set(name, { ino: o.ino, type: o.type });
    dir.entriesDirty = true;
    dir.mtim = dir.ctim = this.now();
    this.touch(dir);
  }

  removeEntry(dir: Inode, name: string): void {
    this.entries(dir).delete(name);
    dir.entriesDirty = true;
    dir.mtim = dir.ctim = this.now();
    this.touch(dir);
  }

  // ---- file contents --------------------------------------------------------------------------

  readAt(o: Inode, pos: number, out: Uint8Array): number {
    if (pos >= o.size) return 0;
    const total = Math.min(out.length, o.size - pos);
    let done = 0;
    while (done < total) {
      const p = pos + done;
      const idx = Math.floor(p / this.nodeSize);
      const off = p - idx * this.nodeSize;
      const len = Math.min(this.nodeSize - off, total - done);
      const n = this.node(o, 0, idx, "read");
      if (n) out.set(len === this.nodeSize ? n.buf : view(n.buf, off, len), done);
      else out.fill(0, done, done + len);
      done += len;
    }
    return total;
  }

  writeAt(o: Inode, pos: number, data: Uint8Array): void {
    this.writable();
    if (data.length === 0) return;
    const end = pos + data.length;
    if (end > MAX_FILE_SIZE) throw wasiError("FBIG");
    this.grow(o, this.nodesFor(end));
    let done = 0;
    while (done < data.length) {
      const p = pos + done;
      const idx = Math.floor(p / this.nodeSize);
      const off = p - idx * this.nodeSize;
      const len = Math.min(this.nodeSize - off, data.length - done);
      // A whole-node overwrite never decrypts (or zero-fills) the node it replaces.
      const n = this.node(o, 0, idx, len === this.nodeSize ? "overwrite" : "zero");
      if (n === null) throw new TwineError("internal", "pfs write found no node");
      n.buf.set(len === data.length ? data : view(data, done, len), off);
      n.dirty = true;
      done += len;
    }
    if (end > o.size) o.size = end;
    o.dirty = true;
    this.changed = true;
  }

  setSize(o: Inode, size: number): void {
    this.writable();
    if (size > MAX_FILE_SIZE) throw wasiError("FBIG");
    if (size === o.size) return;
    if (size > o.size) {
      this.grow(o, this.nodesFor(size));
    } else {
      const keep = this.nodesFor(size);
      const tail = size % this.nodeSize;
      if (tail !== 0) {
        const n = this.node(o, 0, keep - 1, "read");
        if (n) {
          n.buf.fill(0, tail);
          n.dirty = true;
        }
      }
      this.cut(o, keep);
    }
    o.size = size;
    o.dirty = true;
    this.changed = true;
  }

  // ---- node cache -----------------------------------------------------------------------------

  private take(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafe(this.nodeSize);
  }

  private recycle(buf: Buffer): void {
    if (this.pool.length < this.capacity * POOL_SHARE) this.pool.push(buf);
  }

  private nodesFor(size: number): number {
    return Math.ceil(size / this.nodeSize);
  }

  /** Nodes a tree of the owner's depth has at `level`. */
  private width(o: Inode, level: number): number {
    return level > o.depth ? 0 : this.fanout ** (o.depth - level);
  }

  /** The current reference to node (level, index), from its parent or the owner's root. */
  private refOf(o: Inode, level: number, index: number): NodeRef | null {
    if (level === o.depth) return index === 0 ? o.root : null;
    const p = this.node(o, level + 1, Math.floor(index / this.fanout), "read");
    return p ? decodeRef(p.buf, (index % this.fanout) * REF_SIZE) : null;
  }

  private node(o: Inode, level: number, index: number, mode: Mode): CachedNode | null {
    const key = nodeKey(level, index);
    const hit = o.nodes.get(key);
    if (hit) {
      this.lru.touch(hit);
      return hit;
    }
    if (index >= this.width(o, level)) {
      if (mode === "read") return null;
      throw new TwineError("internal", "pfs node beyond tree capacity");
    }
    const ref = this.refOf(o, level, index);
    let buf: Buffer;
    if (ref === null) {
      if (mode === "read") return null;
      buf = this.take();
      if (mode === "zero" || level > 0) buf.fill(0);
    } else if (mode === "overwrite" && level === 0) {
      buf = this.take();
    } else {
      buf = this.load(o, level, index, ref);
    }
    const n: CachedNode = {
      owner: o,
      level,
      index,
      key,
      buf,
      dirty: false,
      ref,
      pins: 0,
      prev: null,
      next: null,
    };
    this.insert(n);
    return n;
  }

  /** Reads and authenticates one node (not cached). */
  private load(o: Inode, level: number, index: number, ref: NodeRef): Buffer {
    if (ref.version > this.committedVersion + 1n) throw integrity("node from a future version");
    const sealed = this.store.read(ref.slot);
    const aad = encodeAad(this.aad, this.volumeId, o.ino, o.generation, o.kind, level, index, ref.version);
    return openNode(this.keys.node, sealed, ref.nonce, ref.tag, aad, this.nodeSize);
  }

  private insert(n: CachedNode): void {
    n.owner.nodes.set(n.key, n);
    this.lru.add(n);
    if (!this.evicting) this.evict();
  }

  /** Evicts in a loop, not recursively: flushing a victim may pull its parent into the cache. */
  private evict(): void {
    this.evicting = true;
    try {
      while (this.lru.size > this.capacity) {
        const victim = this.lru.victim();
        if (victim === null) break;
        this.lru.delete(victim);
        victim.owner.nodes.delete(victim.key);
        if (victim.dirty) this.flushNode(victim);
        this.recycle(victim.buf);
      }
    } finally {
      this.evicting = false;
    }
  }

  /** Copy-on-write: seal into a fresh slot, retire the old one, point the parent at the new one. */
  private flushNode(n: CachedNode): void {
    const o = n.owner;
    const version = this.committedVersion + 1n;
    const aad = encodeAad(this.aad, this.volumeId, o.ino, o.generation, o.kind, n.level, n.index, version);
    const sealed = sealNode(this.keys.node, n.buf, aad);
    const slot = this.alloc.alloc();
    this.store.write(slot, sealed.ciphertext);
    if (n.ref) this.alloc.release(n.ref.slot);
    n.ref = { slot, version, nonce: sealed.nonce, tag: sealed.tag };
    n.dirty = false;
    this.setRef(o, n.level, n.index, n.ref);
  }

  private setRef(o: Inode, level: number, index: number, ref: NodeRef | null): void {
    if (level === o.depth) {
      o.root = ref;
      o.dirty = true;
      return;
    }
    const p = this.node(o, level + 1, Math.floor(index / this.fanout), "zero");
    if (p === null) throw new TwineError("internal", "pfs parent node missing");
    encodeRef(p.buf, (index % this.fanout) * REF_SIZE, ref);
    p.dirty = true;
  }

  /** Adds levels on top until the tree holds `count` data nodes; the old root becomes child 0. */
  private grow(o: Inode, count: number): void {
    while (this.fanout ** o.depth < count) {
      if (o.depth >= this.geometry.maxDepth) throw wasiError("FBIG");
      const buf = this.take();
      buf.fill(0);
      encodeRef(buf, 0, o.root);
      o.depth++;
      o.root = null;
      o.dirty = true;
      const level = o.depth;
      this.insert({
        owner: o,
        level,
        index: 0,
        key: nodeKey(level, 0),
        buf,
        dirty: true,
        ref: null,
        pins: 0,
        prev: null,
        next: null,
      });
    }
  }

  /** Frees every node whose data range starts at or after data node `keep`. */
  private cut(o: Inode, keep: number): void {
    // Take doomed nodes out of the cache first so no eviction can flush them mid-walk.
    const doomed = new Map<number, CachedNode>();
    for (const n of o.nodes.values()) {
      if (n.index * this.fanout ** n.level >= keep) doomed.set(n.key, n);
    }
    for (const n of doomed.values()) {
      o.nodes.delete(n.key);
      this.lru.delete(n);
    }
    if (keep === 0) {
      this.freeWalk(o, o.depth, 0, o.root, doomed);
      o.root = null;
      o.depth = 0;
    } else if (keep < this.fanout ** o.depth) {
      this.cutWalk(o, o.depth, 0, keep, doomed);
    }
    // Cached-only nodes under holes were not reachable by the walk.
    const rest = [...doomed.values()].sort((a, b) => b.level - a.level);
    for (const n of rest) if (doomed.has(n.key)) this.freeWalk(o, n.level, n.index, n.ref, doomed);
    o.dirty = true;
  }

  /** Node (level >= 1, index) straddles `keep`: clear its references past it. */
  private cutWalk(
    o: Inode,
    level: number,
    index: number,
    keep: number,
    doomed: Map<number, CachedNode>,
  ): void {
    const n = this.node(o, level, index, "read");
    if (n) n.pins++;
    try {
      const span = this.fanout ** (level - 1);
      for (let c = 0; c < this.fanout; c++) {
        const ci = index * this.fanout + c;
        const start = ci * span;
        if (start + span <= keep) continue;
        if (start < keep) {
          if (level > 1) this.cutWalk(o, level - 1, ci, keep, doomed);
          continue;
        }
        const r = n ? decodeRef(n.buf, c * REF_SIZE) : null;
        if (r !== null || doomed.has(nodeKey(level - 1, ci))) this.freeWalk(o, level - 1, ci, r, doomed);
        if (n && r !== null) {
          encodeRef(n.buf, c * REF_SIZE, null);
          n.dirty = true;
        }
      }
    } finally {
      if (n) n.pins--;
    }
  }

  /** Releases the slots of a subtree; cached (doomed) content wins over the disk copy. */
  private freeWalk(
    o: Inode,
    level: number,
    index: number,
    ref: NodeRef | null,
    doomed: Map<number, CachedNode>,
  ): void {
    const key = nodeKey(level, index);
    const cached = doomed.get(key);
    doomed.delete(key);
    if (level > 0) {
      const buf = cached?.buf ?? (ref ? this.load(o, level, index, ref) : null);
      for (let c = 0; c < this.fanout; c++) {
        const ci = index * this.fanout + c;
        const r = buf ? decodeRef(buf, c * REF_SIZE) : null;
        if (r !== null || doomed.has(nodeKey(level - 1, ci))) this.freeWalk(o, level - 1, ci, r, doomed);
      }
    }
    if (ref) this.alloc.release(ref.slot);
    if (cached) this.recycle(cached.buf);
  }

  /** Seals every dirty node of one tree, bottom-up, so parents pick up their children's new refs. */
  private flushTree(o: Inode): void {
    for (let level = 0; level <= o.depth; level++) {
      const dirty: CachedNode[] = [];
      for (const n of o.nodes.values()) if (n.level === level && n.dirty) dirty.push(n);
      for (const n of dirty) if (n.dirty && o.nodes.get(n.key) === n) this.flushNode(n);
    }
  }

  // ---- commit ---------------------------------------------------------------------------------

  /** Makes everything durable as one new volume version (fd_sync, fd_datasync, close). */
  commit(): void {
    if (this.readonly || !this.changed) return;
    for (const o of this.inodes.values()) {
      if (o.entriesDirty && o.entries) {
        const b = encodeDir(o.entries);
        this.writeAt(o, 0, b);
        this.setSize(o, b.length);
        o.entriesDirty = false;
      }
    }
    for (const o of this.inodes.values()) if (o.nlink > 0) this.flushTree(o);
    for (const o of this.inodes.values()) {
      if (!o.dirty) continue;
      // An unlinked file still open is recorded as free: after a crash nothing references it.
      const rec = o.nlink > 0 ? o : { ...emptyRecord(0, o.generation, 0n), parent: 0 };
      this.writeRecord(rec, o.ino);
      o.dirty = false;
    }
    this.flushTree(this.table);
    const version = this.committedVersion + 1n;
    const sb = encodeSuper({
      volumeId: this.volumeId,
      version,
      slotCount: this.alloc.slotCount,
      tableSize: this.table.size,
      tableDepth: this.table.depth,
      tableRoot: this.table.root,
      keyCheck: this.keys.keyCheck,
      nodeSize: this.nodeSize,
    });
    const mac = macSuper(this.keys, sb.subarray(0, SUPER.mac.offset));
    mac.copy(sb, SUPER.mac.offset);
    this.store.commitSuper(sb, superSlot(version));
    this.committedVersion = version;
    this.committedHash = mac;
    this.alloc.committed();
    this.table.dirty = false;
    this.changed = false;
    this.record?.save(this.trustedRoot);
  }

  close(): void {
    try {
      this.commit();
    } finally {
      this.closeHandles();
    }
  }

  private closeHandles(): void {
    this.record?.close();
    this.store.close();
  }

  private writable(): void {
    if (this.readonly) throw wasiError("ROFS");
  }

  // ---- checking -------------------------------------------------------------------------------

  /** Visits every node of the committed tree (inode table first), authenticating index nodes. */
  walkCommitted(visit: (n: NodeInfo) => void): void {
    this.walkTree(this.table, visit);
    for (let ino = ROOT_INO; ino < this.inoHigh; ino++) {
      const rec = this.readRecord(ino);
      if (rec.type === 0) {
        this.freeInos.push(ino);
        continue;
      }
      this.walkTree(this.makeInode(ino, rec.type, rec), visit);
    }
    this.freeInos.reverse();
  }

  private walkTree(o: Inode, visit: (n: NodeInfo) => void): void {
    if (o.root === null) return;
    if (this.nodesFor(o.size) > this.fanout ** o.depth) throw integrity("file size exceeds its tree");
    this.walkNode(o, o.depth, 0, o.root, visit);
  }

  private walkNode(o: Inode, level: number, index: number, ref: NodeRef, visit: (n: NodeInfo) => void): void {
    if (index * this.fanout ** level >= this.nodesFor(o.size))
      throw integrity("node past the end of its file");
    if (ref.version > this.committedVersion) throw integrity("node from a future version");
    visit({ slot: ref.slot, ino: o.ino, kind: o.kind, level, index });
    if (level === 0) return;
    const buf = this.load(o, level, index, ref);
    for (let c = 0; c < this.fanout; c++) {
      const r = decodeRef(buf, c * REF_SIZE);
      if (r) this.walkNode(o, level - 1, index * this.fanout + c, r, visit);
    }
    this.recycle(buf);
  }

  /** Every committed node with its owner and position (for `twine pfs verify -v` and tamper tests). */
  nodeMap(): NodeInfo[] {
    const out: NodeInfo[] = [];
    const free = this.freeInos;
    this.freeInos = [];
    try {
      this.walkCommitted((n) => out.push(n));
    } finally {
      this.freeInos = free;
    }
    return out;
  }

  /**
   * Full check of the live state, uncommitted changes included, exactly as reads see it:
   * authenticates every node of the inode table and of every reachable file (holes are skipped, so
   * the cost follows the nodes, not the file sizes), parses every directory, and checks that the
   * namespace is a tree whose link counts match the inode table. `nodes` counts the nodes visited.
   */
  verify(): VerifyReport {
    const report: VerifyReport = {
      version: this.committedVersion,
      files: 0,
      directories: 0,
      symlinks: 0,
      bytes: 0,
      nodes: this.verifyTree(this.table),
    };
    const names = new Map<number, number>();
    const seenDirs = new Set<number>();
    const visit = (o: Inode): void => {
      report.nodes += this.verifyTree(o);
      if (o.type === 4) {
        report.files++;
        report.bytes += o.size;
      }
      if (o.type === 7) report.symlinks++;
      if (o.type !== 3) return;
      report.directories++;
      if (seenDirs.has(o.ino)) throw integrity("directory reachable twice");
      seenDirs.add(o.ino);
      for (const name of this.entries(o).keys()) {
        const child = this.lookup(o, name);
        if (child === null) continue;
        names.set(child.ino, (names.get(child.ino) ?? 0) + 1);
        visit(child);
      }
    };
    visit(this.root());
    let allocated = 1;
    for (let ino = ROOT_INO + 1; ino < this.inoHigh; ino++) {
      const live = this.inodes.get(ino);
      const rec = live ?? this.readRecord(ino);
      if (rec.type === 0 || rec.nlink === 0) continue;
      allocated++;
      if (rec.type !== 3 && names.get(ino) !== rec.nlink) throw integrity("link count disagrees with names");
      if (rec.type === 3 && names.get(ino) !== 1) throw integrity("directory not reachable exactly once");
    }
    if (allocated !== names.size + 1) throw integrity("unreachable inode");
    return report;
  }

  /**
   * Visits every node of one live tree through the cache, so a cached node wins over its disk copy
   * and a miss is authenticated on load. From the root first, then from each node that was cached
   * when the walk began and was not reached: a node written since its last flush can sit under a
   * hole (its parent is created only when it is evicted) and reference disk nodes of its own.
   * Evictions during the walk keep the tree consistent (a flushed node's parent gets its reference),
   * so walking by position finds every such node whether or not it is still cached.
   */
  private verifyTree(o: Inode): number {
    const cached = [...o.nodes.values()]
      .map((n) => ({ level: n.level, index: n.index, key: n.key }))
      .sort((a, b) => b.level - a.level);
    const watch = new Set(cached.map((n) => n.key));
    const reached = new Set<number>();
    let count = this.verifySubtree(o, o.depth, 0, watch, reached);
    for (const n of cached)
      if (!reached.has(n.key)) count += this.verifySubtree(o, n.level, n.index, watch, reached);
    return count;
  }

  /**
   * Node (level, index) and everything under it that exists. Holds only positions: the LRU may
   * evict any node meanwhile, and each child is looked up through its parent again by index.
   */
  private verifySubtree(
    o: Inode,
    level: number,
    index: number,
    watch: Set<number>,
    reached: Set<number>,
  ): number {
    if (this.node(o, level, index, "read") === null) return 0;
    const key = nodeKey(level, index);
    if (watch.has(key)) reached.add(key);
    if (level === 0) return 1;
    // Nodes wholly past the end of the file never exist (truncate frees them; open checks it).
    const span = this.fanout ** (level - 1);
    const first = index * this.fanout;
    const end = Math.min(first + this.fanout, Math.ceil(this.nodesFor(o.size) / span));
    let count = 1;
    for (let c = first; c < end; c++) count += this.verifySubtree(o, level - 1, c, watch, reached);
    return count;
  }
}

/** An older volume than the trusted root is a rollback; the same version with another root a fork. */
function checkFresh(version: bigint, rootHash: Uint8Array, t: TrustedRoot): void {
  if (version < t.version)
    throw new TwineError("pfs.rollback", "volume is older than the last trusted version");
  if (version === t.version && !equalBytes(rootHash, t.rootHash))
    throw integrity("volume forked from the last trusted root");
}

/** The slot a version's superblock lives in: commits alternate, never overwriting the current one. */
function superSlot(version: bigint): number {
  return Number(version % BigInt(SUPER_SLOTS));
}

interface PickedSuper {
  sb: SuperblockFields;
  keys: VolumeKeys;
  mac: Buffer;
}

/**
 * Authenticates each superblock slot on its own and picks the newest valid one. A slot that is
 * empty, torn or fails its checks is skipped only because another is valid: a crash mid-commit
 * tears at most the slot being written, so the survivor is the previous commit. (The host can do the
 * same on purpose, a rollback by one version that only a trusted root detects.) Two valid slots
 * must belong to one volume. With no valid slot: `pfs.key` if every written slot was sealed under
 * another key, else the first error that is not `pfs.key`.
 */
function pickSuper(slots: Buffer[], key: Uint8Array): PickedSuper {
  let best: PickedSuper | null = null;
  const errors: TwineError[] = [];
  for (const [i, raw] of slots.entries()) {
    if (raw.every((x) => x === 0)) continue;
    let slot: PickedSuper;
    try {
      slot = checkSuper(raw, i, key);
    } catch (e) {
      if (!isTwineError(e)) throw e;
      errors.push(e);
      continue;
    }
    if (best !== null && !best.sb.volumeId.equals(slot.sb.volumeId))
      throw integrity("superblock slots belong to different volumes");
    if (best !== null && best.sb.nodeSize !== slot.sb.nodeSize)
      throw integrity("superblock slots disagree on the node size");
    if (best === null || slot.sb.version > best.sb.version) best = slot;
  }
  if (best !== null) return best;
  const first = errors[0];
  if (first === undefined) throw integrity("no committed superblock");
  throw errors.find((e) => e.code !== "pfs.key") ?? first;
}

/** One slot on its own: structure, key check, MAC, and that its version belongs in this slot. */
function checkSuper(raw: Buffer, index: number, key: Uint8Array): PickedSuper {
  const sb = decodeSuper(raw);
  const keys = deriveKeys(key, sb.volumeId);
  if (!equalBytes(keys.keyCheck, sb.keyCheck)) throw new TwineError("pfs.key", "wrong key for this volume");
  const mac = macSuper(keys, raw.subarray(0, SUPER.mac.offset));
  if (!equalBytes(mac, raw.subarray(SUPER.mac.offset, SUPER.mac.offset + SUPER.mac.size)))
    throw integrity("superblock MAC mismatch");
  if (sb.version < 1n) throw integrity("superblock version is zero");
  if (superSlot(sb.version) !== index) throw integrity("superblock is in the wrong slot");
  return { sb, keys, mac };
}

function emptyRecord(type: number, generation: bigint, t: bigint): InodeRecord {
  return { type, depth: 0, nlink: 0, size: 0, atim: t, mtim: t, ctim: t, generation, parent: 0, root: null };
}
