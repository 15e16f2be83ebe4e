// The one place that turns path_open's oflags, fdflags and requested rights into an access decision.
// Keeping it in one function is the lesson of wasmtime's GHSA-2r75-cxrj-cmph: TRUNC was handled on a
// side path that forgot it needs write access, so a read-only open emptied the file.
import { wasiError } from "../errors.js";
import type { OpenOptions } from "../vfs/types.js";
import {
  FDFLAGS_ALL,
  FDFLAGS_APPEND,
  FDFLAGS_DSYNC,
  FDFLAGS_RSYNC,
  FDFLAGS_SYNC,
  OFLAGS_ALL,
  OFLAGS_CREAT,
  OFLAGS_DIRECTORY,
  OFLAGS_EXCL,
  OFLAGS_TRUNC,
  RIGHTS_FD_DATASYNC,
  RIGHTS_FD_SYNC,
  RIGHTS_PATH_CREATE_FILE,
  RIGHTS_PATH_FILESTAT_SET_SIZE,
  RIGHTS_PATH_OPEN,
  RIGHTS_READ_ACCESS,
  RIGHTS_WRITE_ACCESS,
} from "./constants.js";

export interface OpenAccess {
  /** What the mount is asked to do. */
  opts: OpenOptions;
  /** Rights the directory fd must hold in its base rights. */
  dirRights: bigint;
  /** Rights the directory fd must hold in its inheriting rights (what the new fd may carry). */
  inheritedRights: bigint;
}

/**
 * Decides the effective access of a path_open. Errors:
 * - unknown oflags or fdflags bits → INVAL;
 * - DIRECTORY with CREAT → INVAL (what would be created is ambiguous; wasmtime does the same);
 * - DIRECTORY with write access or TRUNC → ISDIR (a directory is never opened for writing);
 * - TRUNC without write access → NOTCAPABLE (truncation is a write: the fd would lack the right).
 * EXCL without CREAT is ignored, as on Linux.
 */
export function openAccess(
  oflags: number,
  fdflags: number,
  rightsBase: bigint,
  rightsInheriting: bigint,
): OpenAccess {
  if ((oflags & ~OFLAGS_ALL) !== 0) throw wasiError("INVAL", "unknown oflags");
  if ((fdflags & ~FDFLAGS_ALL) !== 0) throw wasiError("INVAL", "unknown fdflags");
  const read = (rightsBase & RIGHTS_READ_ACCESS) !== 0n;
  const write = (rightsBase & RIGHTS_WRITE_ACCESS) !== 0n;
  const create = (oflags & OFLAGS_CREAT) !== 0;
  const directory = (oflags & OFLAGS_DIRECTORY) !== 0;
  const truncate = (oflags & OFLAGS_TRUNC) !== 0;
  const exclusive = create && (oflags & OFLAGS_EXCL) !== 0;

  if (directory && create) throw wasiError("INVAL", "O_DIRECTORY with O_CREAT");
  if (directory && (write || truncate)) throw wasiError("ISDIR", "a directory cannot be opened for writing");
  if (truncate && !write) throw wasiError("NOTCAPABLE", "O_TRUNC needs write access");

  let dirRights = RIGHTS_PATH_OPEN;
  if (create) dirRights |= RIGHTS_PATH_CREATE_FILE;
  if (truncate) dirRights |= RIGHTS_PATH_FILESTAT_SET_SIZE;

  let inheritedRights = rightsBase | rightsInheriting;
  if ((fdflags & FDFLAGS_DSYNC) !== 0) inheritedRights |= RIGHTS_FD_DATASYNC;
  if ((fdflags & (FDFLAGS_RSYNC | FDFLAGS_SYNC)) !== 0) inheritedRights |= RIGHTS_FD_SYNC;

  return {
    opts: {
      read,
      write,
      create,
      exclusive,
      truncate,
      append: write && (fdflags & FDFLAGS_APPEND) !== 0,
      directory,
    },
    dirRights,
    inheritedRights,
  };
}
