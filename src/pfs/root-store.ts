// The root store: a local record of the last committed (version, root hash) of each volume, so a
// volume rolled back on the host is refused without the caller passing the trusted root. One file
// per volume, `<state dir>/pfs-roots/<volume id hex>`, of two alternating MAC'd slots (as the
// superblock): a commit pwrites the slot the current record is not in, so a torn write leaves the
// previous record. The MAC key is derived from the volume key (its own HKDF label), so only a
// holder of the key can write a record the next open accepts. What it cannot stop: whoever controls
// the state directory can delete the record (the next open trusts on first use again) or put back an
// older one; see docs/PFS-FORMAT.md "Root store".
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { TwineError } from "../errors.js";
import {
  ROOT_RECORD,
  ROOT_RECORD_MAGIC,
  ROOT_RECORD_SIZE,
  ROOT_RECORD_VERSION,
  integrity,
  isZero,
} from "./format.js";
import { equalBytes, macRootRecord, type VolumeKeys } from "./keys.js";
import type { TrustedRoot } from "./volume.js";

const SLOTS = 2;
const FILE_SIZE = SLOTS * ROOT_RECORD_SIZE;

/** `$TWINE_STATE_DIR`, else `$XDG_STATE_HOME/twine`, else `~/.local/state/twine`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env["TWINE_STATE_DIR"];
  if (own !== undefined && own !== "") return own;
  const xdg = env["XDG_STATE_HOME"];
  if (xdg !== undefined && xdg !== "") return join(xdg, "twine");
  return join(homedir(), ".local", "state", "twine");
}

function hostError(op: string, e: unknown): TwineError {
  return new TwineError("io.host", `pfs root store ${op} failed`, { cause: e });
}

export function encodeRootRecord(keys: VolumeKeys, volumeId: Buffer, root: TrustedRoot): Buffer {
  const b = Buffer.alloc(ROOT_RECORD_SIZE);
  b.write(ROOT_RECORD_MAGIC, ROOT_RECORD.magic.offset, "latin1");
  b.writeUInt32LE(ROOT_RECORD_VERSION, ROOT_RECORD.formatVersion.offset);
  volumeId.copy(b, ROOT_RECORD.volumeId.offset);
  b.writeBigUInt64LE(root.version, ROOT_RECORD.version.offset);
  Buffer.from(root.rootHash).copy(b, ROOT_RECORD.rootHash.offset);
  macRootRecord(keys, b.subarray(0, ROOT_RECORD.mac.offset)).copy(b, ROOT_RECORD.mac.offset);
  return b;
}

/** One slot, authenticated; throws `pfs.integrity` for anything but a record of this volume. */
export function decodeRootRecord(keys: VolumeKeys, volumeId: Buffer, b: Buffer, slot: number): TrustedRoot {
  const mac = macRootRecord(keys, b.subarray(0, ROOT_RECORD.mac.offset));
  if (
    b.length !== ROOT_RECORD_SIZE ||
    !equalBytes(mac, b.subarray(ROOT_RECORD.mac.offset, ROOT_RECORD.mac.offset + ROOT_RECORD.mac.size))
  )
    throw integrity("root record MAC mismatch");
  const id = b.subarray(ROOT_RECORD.volumeId.offset, ROOT_RECORD.volumeId.offset + ROOT_RECORD.volumeId.size);
  const version = b.readBigUInt64LE(ROOT_RECORD.version.offset);
  if (
    b.toString("latin1", 0, 8) !== ROOT_RECORD_MAGIC ||
    b.readUInt32LE(ROOT_RECORD.formatVersion.offset) !== ROOT_RECORD_VERSION ||
    !isZero(b, ROOT_RECORD.reserved0) ||
    !isZero(b, ROOT_RECORD.reserved1) ||
    !id.equals(volumeId) ||
    version < 1n ||
    Number(version % BigInt(SLOTS)) !== slot
  )
    throw integrity("malformed root record");
  const h = ROOT_RECORD.rootHash;
  return { version, rootHash: Buffer.from(b.subarray(h.offset, h.offset + h.size)) };
}

/** Where records live; `open` gives one volume's record. */
export class RootStore {
  constructor(readonly stateDir: string) {}

  static default(): RootStore {
    return new RootStore(defaultStateDir());
  }

  pathOf(volumeId: Buffer): string {
    return join(this.stateDir, "pfs-roots", volumeId.toString("hex"));
  }

  open(volumeId: Buffer, keys: VolumeKeys): RootRecord {
    return new RootRecord(this.pathOf(volumeId), volumeId, keys);
  }
}

/** One volume's record: the last root read at open (null: none, first use), updated on commit. */
export class RootRecord {
  readonly last: TrustedRoot | null;
  private fd: number | null = null;

  constructor(
    private readonly file: string,
    private readonly volumeId: Buffer,
    private readonly keys: VolumeKeys,
  ) {
    this.last = this.read();
  }

  private read(): TrustedRoot | null {
    let b: Buffer;
    try {
      if (!existsSync(this.file)) return null;
      b = readFileSync(this.file);
    } catch (e) {
      throw hostError("read", e);
    }
    if (b.length !== FILE_SIZE) throw integrity("root record has the wrong size");
    let best: TrustedRoot | null = null;
    let bad = 0;
    for (let i = 0; i < SLOTS; i++) {
      const slot = b.subarray(i * ROOT_RECORD_SIZE, (i + 1) * ROOT_RECORD_SIZE);
      if (isZero(slot, { offset: 0, size: ROOT_RECORD_SIZE })) continue;
      try {
        const r = decodeRootRecord(this.keys, this.volumeId, slot, i);
        if (best === null || r.version > best.version) best = r;
      } catch (e) {
        if (!(e instanceof TwineError) || e.code !== "pfs.integrity") throw e;
        bad++;
      }
    }
    // A torn slot is skipped only beside a valid one; a record with no valid slot was tampered with.
    if (best === null && bad > 0) throw integrity("root record failed authentication");
    if (best === null) throw integrity("root record is empty");
    return best;
  }

  /**
   * Records a committed root, after the superblock is durable: a crash leaves the record at most
   * one version behind the volume, never ahead. No fsync: losing the latest record to a power cut
   * only weakens the check (the volume stays at or above the record); it never refuses a good volume.
   */
  save(root: TrustedRoot): void {
    const rec = encodeRootRecord(this.keys, this.volumeId, root);
    const slot = Number(root.version % BigInt(SLOTS));
    try {
      if (this.fd === null && existsSync(this.file)) this.fd = openSync(this.file, "r+");
      if (this.fd === null) {
        this.create(rec, slot);
        return;
      }
      for (let n = 0; n < rec.length;)
        n += writeSync(this.fd, rec, n, rec.length - n, slot * ROOT_RECORD_SIZE + n);
    } catch (e) {
      throw hostError("write", e);
    }
  }

  /** The file appears whole (tmp + rename), so a crash never leaves a short record to refuse. */
  private create(rec: Buffer, slot: number): void {
    const dir = join(this.file, "..");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const b = Buffer.alloc(FILE_SIZE);
    rec.copy(b, slot * ROOT_RECORD_SIZE);
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeSync(fd, b, 0, b.length, 0);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.fd = openSync(this.file, "r+");
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
