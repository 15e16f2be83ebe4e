// The VFS entry points for the runtime and the CLI. Side-effect free: nothing is mounted on import.
import { TwineError } from "../errors.js";
import { HostMount } from "./host.js";
import { MemMount } from "./mem.js";
import { PfsMount } from "../pfs/pfs-mount.js";
import { RootStore } from "../pfs/root-store.js";
import type { Mount } from "./types.js";

export { resolvePath, MAX_NAME_BYTES, MAX_SYMLINK_EXPANSIONS } from "./resolve.js";
export type { ResolvedPath } from "./resolve.js";
export { MemMount } from "./mem.js";
export type { MemMountOptions } from "./mem.js";
export { HostMount } from "./host.js";
export type { HostMountOptions } from "./host.js";
export { StdioHandle } from "./stdio.js";
export * from "./types.js";

/** Plain data (structured-cloneable), so the runtime can send it to its worker. */
export type MountConfig =
  | { type: "mem"; guestPath: string }
  | { type: "host"; guestPath: string; hostPath: string; readonly: boolean }
  | {
      type: "pfs";
      guestPath: string;
      hostPath: string;
      key: Uint8Array;
      create: boolean;
      /** State directory of the root store (pfs/root-store.ts); absent: no root store. */
      rootStore?: string;
    };

export function createMount(c: MountConfig): Mount {
  switch (c.type) {
    case "mem":
      return new MemMount();
    case "host":
      return new HostMount(c.hostPath, { readonly: c.readonly });
    case "pfs": {
      const opts = c.rootStore === undefined ? {} : { rootStore: new RootStore(c.rootStore) };
      return c.create
        ? PfsMount.openOrCreate(c.hostPath, c.key, opts)
        : PfsMount.open(c.hostPath, c.key, opts);
    }
    default:
      return unknownMountType(c);
  }
}

function unknownMountType(c: never): never {
  throw new TwineError("internal", `unknown mount type ${String((c as { type?: unknown }).type)}`);
}

/**
 * Parses the CLI's `--dir HOST::GUEST[:ro|:rw]`. Host mounts are read-only unless `:rw` is given.
 * The first "::" separates the host path from the guest path.
 */
export function parseDirFlag(flag: string): MountConfig {
  const sep = flag.indexOf("::");
  if (sep < 0) throw usage(`--dir expects HOST::GUEST[:ro|:rw], got "${flag}"`);
  const hostPath = flag.slice(0, sep);
  let guestPath = flag.slice(sep + 2);
  let readonly = true;
  if (guestPath.endsWith(":rw")) {
    readonly = false;
    guestPath = guestPath.slice(0, -3);
  } else if (guestPath.endsWith(":ro")) {
    guestPath = guestPath.slice(0, -3);
  }
  if (hostPath === "") throw usage("--dir: empty host path");
  if (guestPath === "") throw usage("--dir: empty guest path");
  if (hostPath.includes("\0") || guestPath.includes("\0")) throw usage("--dir: path contains NUL");
  return { type: "host", guestPath, hostPath, readonly };
}

function usage(message: string): TwineError {
  return new TwineError("cli.usage", message);
}
