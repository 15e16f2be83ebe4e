// On-disk layouts of a pfs volume (docs/PFS-FORMAT.md is the prose version of this file). Every
// structure has one layout table; decoders reject non-zero reserved bytes and out-of-range values
// because everything read from the host is hostile.
import { TwineError } from "../errors.js";

/** Node sizes a volume may choose at creation: powers of two in [4 KiB, 64 KiB]. */
export const MIN_NODE_SIZE = 4096;
export const MAX_NODE_SIZE = 65536;
export const DEFAULT_NODE_SIZE = MIN_NODE_SIZE;
/** A superblock slot is 4 KiB whatever the node size (it is read before the node size is known). */
export const SUPER_SLOT_SIZE = 4096;
export const REF_SIZE = 64;
export const INODE_SIZE = 128;
export const MAGIC = "TWINEPFS";
/** 2: two alternating superblock slots in `super` (1 had one superblock replaced by rename). */
export const FORMAT_VERSION = 2;
/** `super` holds this many superblock slots of SUPER_SLOT_SIZE bytes; version v lives in slot v % 2. */
export const SUPER_SLOTS = 2;
export const SUPER_FILE_SIZE = SUPER_SLOTS * SUPER_SLOT_SIZE;
/** `kind` of the inode table's nodes in the AAD; files use their witx filetype (3, 4, 7). */
export const TABLE_KIND = 0xff;
export const TABLE_INO = 0;
export const ROOT_INO = 1;
export const MAX_NAME_BYTES = 255;
/** Slots are addressed by u64 on disk but must stay exact in a JS number. */
export const MAX_SLOT = 2 ** 40;
/** Largest file: keeps every offset an exact JS number with room to spare. */
export const MAX_FILE_SIZE = 2 ** 50;
/** Largest `nodes` file: every byte offset `slot * nodeSize` stays an exact JS number. */
const MAX_STORE_BYTES = 2 ** 52;

/** Every quantity that follows from a volume's node size. */
export interface Geometry {
  readonly nodeSize: number;
  /** Child references per index node. */
  readonly fanout: number;
  /** Deepest tree: the shallowest one that holds a MAX_FILE_SIZE file. */
  readonly maxDepth: number;
  /** Most slots a superblock may declare. */
  readonly maxSlots: number;
}

const geometries = new Map<number, Geometry>();

export function isValidNodeSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_NODE_SIZE && n <= MAX_NODE_SIZE && (n & (n - 1)) === 0;
}

export function geometry(nodeSize: number): Geometry {
  const known = geometries.get(nodeSize);
  if (known) return known;
  if (!isValidNodeSize(nodeSize)) throw new TwineError("pfs.format", `invalid pfs node size ${nodeSize}`);
  const fanout = nodeSize / REF_SIZE;
  let maxDepth = 0;
  while (fanout ** maxDepth * nodeSize < MAX_FILE_SIZE) maxDepth++;
  const g = { nodeSize, fanout, maxDepth, maxSlots: Math.min(MAX_SLOT, MAX_STORE_BYTES / nodeSize) };
  geometries.set(nodeSize, g);
  return g;
}

/** The superblock's `nodeShift` byte: log2(nodeSize / 4096), so 0 (a format-2 volume from before the field) is 4 KiB. */
export function nodeShiftOf(nodeSize: number): number {
  return Math.log2(geometry(nodeSize).nodeSize / MIN_NODE_SIZE);
}
const MAX_NODE_SHIFT = Math.log2(MAX_NODE_SIZE / MIN_NODE_SIZE);

export interface Field {
  readonly offset: number;
  readonly size: number;
}

/** One superblock slot of the host file `super`. The MAC covers bytes [0, mac.offset). */
export const SUPER = {
  magic: { offset: 0, size: 8 },
  formatVersion: { offset: 8, size: 4 },
  flags: { offset: 12, size: 4 },
  volumeId: { offset: 16, size: 16 },
  version: { offset: 32, size: 8 },
  slotCount: { offset: 40, size: 8 },
  tableSize: { offset: 48, size: 8 },
  tableDepth: { offset: 56, size: 1 },
  nodeShift: { offset: 57, size: 1 },
  reserved: { offset: 58, size: 6 },
  tableRoot: { offset: 64, size: REF_SIZE },
  keyCheck: { offset: 128, size: 32 },
  mac: { offset: 160, size: 32 },
} as const satisfies Record<string, Field>;
export const SUPER_USED = 192;

/**
 * One slot of a root record (root-store.ts: a local file outside the volume remembering the last
 * committed root). The MAC covers bytes [0, mac.offset).
 */
export const ROOT_RECORD = {
  magic: { offset: 0, size: 8 },
  formatVersion: { offset: 8, size: 4 },
  reserved0: { offset: 12, size: 4 },
  volumeId: { offset: 16, size: 16 },
  version: { offset: 32, size: 8 },
  rootHash: { offset: 40, size: 32 },
  mac: { offset: 72, size: 32 },
  reserved1: { offset: 104, size: 24 },
} as const satisfies Record<string, Field>;
export const ROOT_RECORD_SIZE = 128;
export const ROOT_RECORD_MAGIC = "TWINERTS";
export const ROOT_RECORD_VERSION = 1;

/** A child reference: where a node lives and the GCM nonce and tag that authenticate it. */
export const REF = {
  slot: { offset: 0, size: 8 },
  version: { offset: 8, size: 8 },
  nonce: { offset: 16, size: 12 },
  tag: { offset: 28, size: 16 },
  reserved: { offset: 44, size: 20 },
} as const satisfies Record<string, Field>;

/** One record of the inode table. type 0 = free. */
export const INODE = {
  type: { offset: 0, size: 1 },
  depth: { offset: 1, size: 1 },
  reserved0: { offset: 2, size: 2 },
  nlink: { offset: 4, size: 4 },
  size: { offset: 8, size: 8 },
  atim: { offset: 16, size: 8 },
  mtim: { offset: 24, size: 8 },
  ctim: { offset: 32, size: 8 },
  generation: { offset: 40, size: 8 },
  parent: { offset: 48, size: 8 },
  root: { offset: 56, size: REF_SIZE },
  reserved1: { offset: 120, size: 8 },
} as const satisfies Record<string, Field>;

/** Associated data of every node's AES-GCM seal. */
export const AAD = {
  volumeId: { offset: 0, size: 16 },
  ino: { offset: 16, size: 8 },
  generation: { offset: 24, size: 8 },
  index: { offset: 32, size: 8 },
  version: { offset: 40, size: 8 },
  kind: { offset: 48, size: 1 },
  level: { offset: 49, size: 1 },
  reserved: { offset: 50, size: 6 },
} as const satisfies Record<string, Field>;
export const AAD_SIZE = 56;

/** Directory entry header, followed by `nameLen` bytes of UTF-8. */
export const DIRENT = {
  ino: { offset: 0, size: 8 },
  type: { offset: 8, size: 1 },
  nameLen: { offset: 9, size: 1 },
} as const satisfies Record<string, Field>;
export const DIRENT_HEADER = 10;

export function integrity(message: string): TwineError {
  return new TwineError("pfs.integrity", message);
}

export function isZero(buf: Uint8Array, f: Field, base = 0): boolean {
  for (let i = base + f.offset; i < base + f.offset + f.size; i++) if (buf[i] !== 0) return false;
  return true;
}

export interface NodeRef {
  slot: number;
  /** Volume version being built when the node was sealed (bound in the AAD); >= 1. */
  version: bigint;
  nonce: Buffer;
  tag: Buffer;
}

/** A u64 that must fit `max` (at most 2^53 - 1), read without a BigInt: this is on the per-node path. */
export function readU64(buf: Buffer, offset: number, max = Number.MAX_SAFE_INTEGER): number {
  const lo = buf.readUInt32LE(offset);
  const hi = buf.readUInt32LE(offset + 4);
  // hi < 2^21 keeps hi * 2^32 + lo below 2^53, exact in a double.
  if (hi >= 2 ** 21) throw integrity("u64 field out of range");
  const v = hi * 2 ** 32 + lo;
  if (v > max) throw integrity("u64 field out of range");
  return v;
}

/** Decodes a reference; an all-zero reference (version 0) is a hole and decodes to null. */
export function decodeRef(buf: Buffer, base: number): NodeRef | null {
  if (!isZero(buf, REF.reserved, base)) throw integrity("reserved bytes of a node reference are set");
  // Holes are the common case in growing files: tell them apart without allocating a BigInt.
  if (isZero(buf, REF.version, base)) {
    if (!isZero(buf, { offset: 0, size: REF_SIZE }, base)) throw integrity("malformed hole reference");
    return null;
  }
  const version = buf.readBigUInt64LE(base + REF.version.offset);
  const slot = readU64(buf, base + REF.slot.offset, MAX_SLOT - 1);
  // Nonce and tag are adjacent: one copy (the parent's buffer is reused), two views.
  const n = base + REF.nonce.offset;
  const nonceTag = Buffer.from(buf.subarray(n, n + REF.nonce.size + REF.tag.size));
  return {
    slot,
    version,
    nonce: nonceTag.subarray(0, REF.nonce.size),
    tag: nonceTag.subarray(REF.nonce.size),
  };
}

export function encodeRef(buf: Buffer, base: number, ref: NodeRef | null): void {
  if (ref === null) {
    buf.fill(0, base, base + REF_SIZE);
    return;
  }
  writeU64(buf, ref.slot, base + REF.slot.offset);
  writeBigU64(buf, ref.version, base + REF.version.offset);
  ref.nonce.copy(buf, base + REF.nonce.offset);
  ref.tag.copy(buf, base + REF.tag.offset);
  buf.fill(0, base + REF.reserved.offset, base + REF_SIZE);
}

export interface SuperblockFields {
  volumeId: Buffer;
  version: bigint;
  slotCount: number;
  tableSize: number;
  tableDepth: number;
  tableRoot: NodeRef | null;
  keyCheck: Buffer;
  nodeSize: number;
}

/** Encodes everything but the MAC; the caller appends it at SUPER.mac. */
export function encodeSuper(s: SuperblockFields): Buffer {
  const b = Buffer.alloc(SUPER_SLOT_SIZE);
  b.write(MAGIC, SUPER.magic.offset, "latin1");
  b.writeUInt32LE(FORMAT_VERSION, SUPER.formatVersion.offset);
  s.volumeId.copy(b, SUPER.volumeId.offset);
  b.writeBigUInt64LE(s.version, SUPER.version.offset);
  b.writeBigUInt64LE(BigInt(s.slotCount), SUPER.slotCount.offset);
  b.writeBigUInt64LE(BigInt(s.tableSize), SUPER.tableSize.offset);
  b.writeUInt8(s.tableDepth, SUPER.tableDepth.offset);
  b.writeUInt8(nodeShiftOf(s.nodeSize), SUPER.nodeShift.offset);
  encodeRef(b, SUPER.tableRoot.offset, s.tableRoot);
  s.keyCheck.copy(b, SUPER.keyCheck.offset);
  return b;
}

/** Magic and format version, the part of a superblock every format version shares. */
export function checkSuperHeader(b: Buffer): void {
  if (b.length < SUPER.flags.offset || b.toString("latin1", 0, 8) !== MAGIC)
    throw new TwineError("pfs.format", "not a pfs volume");
  if (b.readUInt32LE(SUPER.formatVersion.offset) !== FORMAT_VERSION)
    throw new TwineError("pfs.format", "unsupported pfs format version");
}

/** Structural decode only: the caller checks the key and the MAC before trusting any field. */
export function decodeSuper(b: Buffer): SuperblockFields {
  if (b.length !== SUPER_SLOT_SIZE) throw integrity("superblock has the wrong size");
  checkSuperHeader(b);
  if (b.readUInt32LE(SUPER.flags.offset) !== 0 || !isZero(b, SUPER.reserved))
    throw integrity("reserved superblock bytes are set");
  if (!isZero(b, { offset: SUPER_USED, size: SUPER_SLOT_SIZE - SUPER_USED }))
    throw integrity("superblock padding is not zero");
  const nodeShift = b.readUInt8(SUPER.nodeShift.offset);
  if (nodeShift > MAX_NODE_SHIFT) throw integrity("superblock node size is out of range");
  const g = geometry(MIN_NODE_SIZE << nodeShift);
  const tableDepth = b.readUInt8(SUPER.tableDepth.offset);
  if (tableDepth > g.maxDepth) throw integrity("inode table too deep");
  return {
    volumeId: Buffer.from(b.subarray(SUPER.volumeId.offset, SUPER.volumeId.offset + 16)),
    version: b.readBigUInt64LE(SUPER.version.offset),
    slotCount: readU64(b, SUPER.slotCount.offset, g.maxSlots),
    tableSize: readU64(b, SUPER.tableSize.offset),
    tableDepth,
    tableRoot: decodeRef(b, SUPER.tableRoot.offset),
    keyCheck: Buffer.from(b.subarray(SUPER.keyCheck.offset, SUPER.keyCheck.offset + 32)),
    nodeSize: g.nodeSize,
  };
}

export interface InodeRecord {
  type: number;
  depth: number;
  nlink: number;
  size: number;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
  generation: bigint;
  parent: number;
  root: NodeRef | null;
}

const INODE_TYPES = new Set([0, 3, 4, 7]);

/** `maxDepth` is the volume's (Geometry): a deeper tree is corrupt. */
export function decodeInode(b: Buffer, base: number, maxDepth: number): InodeRecord {
  const type = b.readUInt8(base + INODE.type.offset);
  if (!INODE_TYPES.has(type)) throw integrity("unknown inode type");
  if (!isZero(b, INODE.reserved0, base) || !isZero(b, INODE.reserved1, base))
    throw integrity("reserved inode bytes are set");
  const depth = b.readUInt8(base + INODE.depth.offset);
  if (depth > maxDepth) throw integrity("file tree too deep");
  return {
    type,
    depth,
    nlink: b.readUInt32LE(base + INODE.nlink.offset),
    size: readU64(b, base + INODE.size.offset, 2 ** 53 - 1),
    atim: b.readBigUInt64LE(base + INODE.atim.offset),
    mtim: b.readBigUInt64LE(base + INODE.mtim.offset),
    ctim: b.readBigUInt64LE(base + INODE.ctim.offset),
    generation: b.readBigUInt64LE(base + INODE.generation.offset),
    parent: readU64(b, base + INODE.parent.offset, 2 ** 32),
    root: decodeRef(b, base + INODE.root.offset),
  };
}

export function encodeInode(b: Buffer, base: number, r: InodeRecord): void {
  b.fill(0, base, base + INODE_SIZE);
  b.writeUInt8(r.type, base + INODE.type.offset);
  b.writeUInt8(r.depth, base + INODE.depth.offset);
  b.writeUInt32LE(r.nlink, base + INODE.nlink.offset);
  b.writeBigUInt64LE(BigInt(r.size), base + INODE.size.offset);
  b.writeBigUInt64LE(r.atim, base + INODE.atim.offset);
  b.writeBigUInt64LE(r.mtim, base + INODE.mtim.offset);
  b.writeBigUInt64LE(r.ctim, base + INODE.ctim.offset);
  b.writeBigUInt64LE(r.generation, base + INODE.generation.offset);
  b.writeBigUInt64LE(BigInt(r.parent), base + INODE.parent.offset);
  encodeRef(b, base + INODE.root.offset, r.root);
}

/** A u64 from an exact JS number, without a BigInt on the per-node path. */
function writeU64(out: Buffer, v: number, offset: number): void {
  out.writeUInt32LE(v % 2 ** 32, offset);
  out.writeUInt32LE(Math.floor(v / 2 ** 32), offset + 4);
}

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** A u64 bigint; the usual small values skip Buffer's BigInt arithmetic (which allocates). */
function writeBigU64(out: Buffer, v: bigint, offset: number): void {
  if (v >= 0n && v <= MAX_SAFE_BIG) writeU64(out, Number(v), offset);
  else out.writeBigUInt64LE(v, offset);
}

export function encodeAad(
  out: Buffer,
  volumeId: Buffer,
  ino: number,
  generation: bigint,
  kind: number,
  level: number,
  index: number,
  version: bigint,
): Buffer {
  volumeId.copy(out, AAD.volumeId.offset);
  writeU64(out, ino, AAD.ino.offset);
  writeBigU64(out, generation, AAD.generation.offset);
  writeU64(out, index, AAD.index.offset);
  writeBigU64(out, version, AAD.version.offset);
  out[AAD.kind.offset] = kind;
  out[AAD.level.offset] = level;
  for (let i = AAD.reserved.offset; i < AAD_SIZE; i++) out[i] = 0;
  return out;
}

export interface DirEntryRecord {
  ino: number;
  type: number;
}

const DIRENT_TYPES = new Set([3, 4, 7]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a directory's plaintext; any malformed entry is an integrity failure. */
export function decodeDir(b: Buffer): Map<string, DirEntryRecord> {
  const out = new Map<string, DirEntryRecord>();
  let p = 0;
  while (p < b.length) {
    if (p + DIRENT_HEADER > b.length) throw integrity("truncated directory entry");
    const ino = readU64(b, p + DIRENT.ino.offset, 2 ** 32);
    const type = b.readUInt8(p + DIRENT.type.offset);
    const len = b.readUInt8(p + DIRENT.nameLen.offset);
    if (!DIRENT_TYPES.has(type) || ino <= ROOT_INO || len === 0) throw integrity("malformed directory entry");
    if (p + DIRENT_HEADER + len > b.length) throw integrity("truncated directory entry");
    let name: string;
    try {
      name = utf8.decode(b.subarray(p + DIRENT_HEADER, p + DIRENT_HEADER + len));
    } catch (e) {
      throw new TwineError("pfs.integrity", "directory entry name is not UTF-8", { cause: e });
    }
    if (name === "." || name === ".." || name.includes("/") || name.includes("\0") || out.has(name))
      throw integrity("invalid or duplicate directory entry name");
    out.set(name, { ino, type });
    p += DIRENT_HEADER + len;
  }
  return out;
}

export function encodeDir(entries: Map<string, DirEntryRecord>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, e] of entries) {
    const nb = Buffer.from(name, "utf8");
    const h = Buffer.alloc(DIRENT_HEADER);
    h.writeBigUInt64LE(BigInt(e.ino), DIRENT.ino.offset);
    h.writeUInt8(e.type, DIRENT.type.offset);
    h.writeUInt8(nb.length, DIRENT.nameLen.offset);
    parts.push(h, nb);
  }
  return Buffer.concat(parts);
}
