// AES-256-GCM sealing of one node (the volume's node size, 4–64 KiB). The nonce is 96 random bits per seal (never a counter:
// after a crash an uncommitted counter would be reused); the tag goes into the parent reference, so
// the parent authenticates the child (a Merkle tree of GCM tags).
import { createCipheriv, createDecipheriv, randomFillSync, type KeyObject } from "node:crypto";
import { TwineError } from "../errors.js";

const NONCE = 12;
/**
 * Nonces are cut from a pool of random bytes: one getrandom call per 64 seals instead of one each.
 * Each refill is a new buffer, so a handed-out nonce (a view, not a copy) is never overwritten.
 */
const POOL_NONCES = 64;
let pool = Buffer.alloc(0);
let poolPos = 0;

function freshNonce(): Buffer {
  if (poolPos + NONCE > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(NONCE * POOL_NONCES));
    poolPos = 0;
  }
  const n = pool.subarray(poolPos, poolPos + NONCE);
  poolPos += NONCE;
  return n;
}

export interface Sealed {
  ciphertext: Buffer;
  nonce: Buffer;
  tag: Buffer;
}

export function sealNode(key: KeyObject, plain: Buffer, aad: Buffer): Sealed {
  const nonce = freshNonce();
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(aad);
  const ciphertext = c.update(plain);
  c.final();
  return { ciphertext, nonce, tag: c.getAuthTag() };
}

/**
 * Opens a node; the returned buffer is the decipher's own output, adopted by the cache as is (no
 * copy). On a bad tag the plaintext is wiped and never returned.
 */
export function openNode(
  key: KeyObject,
  ciphertext: Buffer,
  nonce: Buffer,
  tag: Buffer,
  aad: Buffer,
  nodeSize: number,
): Buffer {
  const d = createDecipheriv("aes-256-gcm", key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  const plain = d.update(ciphertext);
  try {
    d.final();
  } catch (e) {
    plain.fill(0);
    throw new TwineError("pfs.integrity", "a node failed authentication", { cause: e });
  }
  if (plain.length !== nodeSize) throw new TwineError("pfs.integrity", "node has the wrong size");
  return plain;
}
