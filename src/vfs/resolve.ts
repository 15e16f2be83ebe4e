// The path resolver: turns a guest path into a list of validated names under a mount root, one
// component at a time, asking the mount only `lstat` and `readlink`. Symlinks are expanded here, in
// the virtual namespace, never by the host. Semantics follow cap-std (wasmtime): nothing ever
// resolves above `base`, and absolute paths or absolute link targets are refused, not re-rooted.
import { isTwineError, wasiError } from "../errors.js";
import { checkComponents } from "./names.js";
import { FILETYPE, type Mount } from "./types.js";

/** Linux MAXSYMLINKS: the 41st expansion in one resolution fails with ELOOP. */
export const MAX_SYMLINK_EXPANSIONS = 40;
/** NAME_MAX, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

export interface ResolvedPath {
  /** Components under the mount root; the last one may not exist. */
  path: string[];
  /** The path (or the target of a final link) ended in "/", "/." or "/..": the caller wants a directory. */
  trailingSlash: boolean;
}

interface Split {
  components: string[];
  trailing: boolean;
}

/** Splits a relative path; "" components (from "//") vanish, "." and ".." stay for the walk. */
function split(path: string): Split {
  const components = path.split("/").filter((c) => c !== "");
  const last = path.split("/").at(-1);
  return { components, trailing: last === "" || last === "." || last === ".." };
}

function checkName(name: string): void {
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short names skip the byte count.
  if (name.length * 3 > MAX_NAME_BYTES && Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) {
    throw wasiError("NAMETOOLONG", "path component longer than 255 bytes");
  }
}

/** lstat that answers `undefined` for a missing entry instead of throwing. */
function lstatOrMissing(mount: Mount, path: readonly string[]): ReturnType<Mount["lstat"]> | undefined {
  try {
    return mount.lstat(path);
  } catch (e) {
    if (isTwineError(e, "wasi.noent")) return undefined;
    throw e;
  }
}

/**
 * The mount's shortcut (Mount.knownDirectory), tried once per resolution: when the leading
 * intermediate components are plain names and the mount vouches that they lead, through directories
 * alone, to a directory, they move to `resolved` without an lstat each. The component-wise walk
 * would have accepted exactly them; anything else (a link, a missing or non-directory component, a
 * mount that does not know) leaves them for that walk, which gives the precise answer.
 */
function skipKnownDirectories(mount: Mount, resolved: string[], pending: string[]): void {
  if (mount.knownDirectory === undefined) return;
  // pending is last-first: the final component is pending[0] and never skipped.
  let n = 0;
  for (let i = pending.length - 1; i >= 1; i--, n++) {
    const name = pending[i] as string;
    if (name === "." || name === "..") break;
  }
  // A single level under the root is one cheap lstat anyway.
  if (n === 0 || resolved.length + n < 2) return;
  const run = pending.slice(pending.length - n).reverse();
  for (const name of run) checkName(name);
  if (!mount.knownDirectory([...resolved, ...run])) return;
  resolved.push(...run);
  pending.length -= n;
}

/**
 * Resolves `path` relative to the directory `base` (components under the mount root).
 * Intermediate symlinks are always followed; the final one only when `followFinal` or when the path
 * ends in a slash. A missing final component is returned as is (for creating it); an existing
 * final component that is not a directory while a trailing slash asks for one is `wasi.notdir`.
 */
export function resolvePath(
  mount: Mount,
  base: readonly string[],
  path: string,
  followFinal: boolean,
): ResolvedPath {
  checkComponents(base);
  if (path.includes("\0")) throw wasiError("INVAL", "path contains NUL");
  if (path === "") throw wasiError("NOENT", "empty path");
  if (path.startsWith("/")) throw wasiError("NOTCAPABLE", "absolute path");

  const first = split(path);
  let trailing = first.trailing;
  // Pending components, last one first, so a link's target is pushed in front of the rest.
  const pending = first.components.reverse();
  const resolved = [...base];
  let expansions = 0;
  skipKnownDirectories(mount, resolved, pending);

  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (name === ".") continue;
    if (name === "..") {
      if (resolved.length <= base.length) throw wasiError("NOTCAPABLE", "path leaves its directory");
      resolved.pop();
      continue;
    }
    checkName(name);
    const isFinal = pending.length === 0;
    const follow = !isFinal || followFinal || trailing;
    const candidate = [...resolved, name];
    if (isFinal && !follow) return { path: candidate, trailingSlash: false };

    const st = lstatOrMissing(mount, candidate);
    if (st === undefined) {
      if (isFinal) return { path: candidate, trailingSlash: trailing };
      throw wasiError("NOENT", "missing intermediate directory");
    }
    if (st.filetype === FILETYPE.SYMBOLIC_LINK) {
      expansions += 1;
      if (expansions > MAX_SYMLINK_EXPANSIONS) throw wasiError("LOOP", "too many symbolic links");
      const target = mount.readlink(candidate);
      if (target.includes("\0")) throw wasiError("INVAL", "symlink target contains NUL");
      if (target === "") throw wasiError("NOENT", "empty symlink target");
      if (target.startsWith("/")) throw wasiError("NOTCAPABLE", "symlink with an absolute target");
      const t = split(target);
      // A final link whose target ends in "/" asks for a directory just as the path would have.
      if (isFinal && t.trailing) trailing = true;
      for (let i = t.components.length - 1; i >= 0; i--) pending.push(t.components[i] as string);
      continue;
    }
    if (st.filetype !== FILETYPE.DIRECTORY && (!isFinal || trailing)) {
      throw wasiError("NOTDIR", "not a directory");
    }
    resolved.push(name);
  }
  return { path: resolved, trailingSlash: trailing };
}
