// fd_readdir's wire format. A directory is listed once (when the guest starts at cookie 0) and the
// listing is kept on the fd, so a cookie, the index of the next entry, keeps naming the same entry
// across calls however many entries there are and whatever changes meanwhile.
import { FILETYPE, type DirEntry as VfsDirEntry, type Mount } from "../vfs/types.js";
import { DIRENT } from "./constants.js";
import type { DirListing } from "./fd-table.js";

const encoder = new TextEncoder();
const header = new Uint8Array(DIRENT.size);
const headerView = new DataView(header.buffer);

/** "." and ".." first (as POSIX readdir shows them), then the mount's entries. */
export function listDirectory(mount: Mount, path: readonly string[]): DirListing {
  const self = mount.lstat(path).ino;
  // The parent of a mount root is outside the guest's view: it reports the root itself, as "/" does.
  const parent = path.length > 0 ? mount.lstat(path.slice(0, -1)).ino : self;
  const entries: VfsDirEntry[] = [
    { name: ".", ino: self, filetype: FILETYPE.DIRECTORY },
    { name: "..", ino: parent, filetype: FILETYPE.DIRECTORY },
    ...mount.readdir(path),
  ];
  return { entries, names: entries.map((e) => encoder.encode(e.name)) };
}

/**
 * Writes entries from index `cookie` into `out`, each a 24-byte dirent then its name, and returns
 * the bytes used. The last entry is cut off where the buffer ends: `used === out.length` tells the
 * guest to call again (with a bigger buffer if not even one entry fitted), as the spec says.
 */
export function fillDirents(out: Uint8Array, listing: DirListing, cookie: bigint): number {
  const { entries, names } = listing;
  if (cookie >= BigInt(entries.length)) return 0;
  let used = 0;
  for (let i = Number(cookie); i < entries.length && used < out.length; i++) {
    const e = entries[i] as VfsDirEntry;
    const name = names[i] as Uint8Array;
    header.fill(0);
    headerView.setBigUint64(DIRENT.d_next.offset, BigInt(i + 1), true);
    headerView.setBigUint64(DIRENT.d_ino.offset, BigInt.asUintN(64, e.ino), true);
    headerView.setUint32(DIRENT.d_namlen.offset, name.byteLength, true);
    headerView.setUint8(DIRENT.d_type.offset, e.filetype);
    used += copyInto(out, used, header);
    used += copyInto(out, used, name);
  }
  return used;
}

function copyInto(out: Uint8Array, at: number, src: Uint8Array): number {
  const n = Math.min(src.byteLength, out.length - at);
  out.set(n === src.byteLength ? src : src.subarray(0, n), at);
  return n;
}
