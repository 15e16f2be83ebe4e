// Key schedule: the caller's 32-byte volume key never touches the disk; every purpose gets its own
// HKDF-SHA256 output (salt = volume id, info = a distinct label), so a key used for one job can
// never be confused with another's.
import { createHmac, createSecretKey, hkdfSync, timingSafeEqual, type KeyObject } from "node:crypto";
import { TwineError } from "../errors.js";

const LABEL = {
  node: "twine-pfs/v1/node-aes-256-gcm",
  super: "twine-pfs/v1/superblock-hmac-sha256",
  check: "twine-pfs/v1/key-check-hmac-sha256",
  rootStore: "twine-pfs/v1/root-store-hmac-sha256",
} as const;

export interface VolumeKeys {
  /** AES-256-GCM key sealing every node. */
  readonly node: KeyObject;
  /** HMAC-SHA256 key for the superblock MAC. */
  readonly super: KeyObject;
  /** Public key-check value: tells a wrong key from a tampered superblock. */
  readonly keyCheck: Buffer;
  /** HMAC-SHA256 key for the local record of the last root (root-store.ts). */
  readonly rootStore: KeyObject;
}

export function checkVolumeKey(key: Uint8Array): void {
  if (key.length !== 32) throw new TwineError("pfs.key", "a pfs volume key is exactly 32 bytes");
}

function derive(key: Uint8Array, volumeId: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", key, volumeId, info, 32));
}

export function deriveKeys(key: Uint8Array, volumeId: Buffer): VolumeKeys {
  checkVolumeKey(key);
  const check = derive(key, volumeId, LABEL.check);
  const keyCheck = createHmac("sha256", check).update(volumeId).digest();
  check.fill(0);
  const node = derive(key, volumeId, LABEL.node);
  const sup = derive(key, volumeId, LABEL.super);
  const roots = derive(key, volumeId, LABEL.rootStore);
  const keys = {
    node: createSecretKey(node),
    super: createSecretKey(sup),
    keyCheck,
    rootStore: createSecretKey(roots),
  };
  node.fill(0);
  sup.fill(0);
  roots.fill(0);
  return keys;
}

export function macSuper(keys: VolumeKeys, bytes: Uint8Array): Buffer {
  return createHmac("sha256", keys.super).update(bytes).digest();
}

export function macRootRecord(keys: VolumeKeys, bytes: Uint8Array): Buffer {
  return createHmac("sha256", keys.rootStore).update(bytes).digest();
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
