// `twine pfs create|import|export|ls|verify|rekey`: the data owner's tools to prepare encrypted
// inputs and read outputs outside the TEE. The key comes from --key-file (32 raw bytes or 64 hex
// digits) and is never printed. Large copies show a progress bar on a terminal.
import { readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { parsePfsFlag } from "./launch-flags.js";
import { TwineError } from "../errors.js";
import type { MountConfig } from "../vfs/index.js";
import { FILETYPE } from "../vfs/types.js";
import { isValidNodeSize } from "../pfs/format.js";
import { PfsMount } from "../pfs/pfs-mount.js";
import { RootStore } from "../pfs/root-store.js";
import {
  copyVolume,
  exportTree,
  hostTreeBytes,
  importTree,
  volumeTreeBytes,
  type OnBytes,
} from "../pfs/transfer.js";

const PROGRESS_MIN_BYTES = 8 << 20;

function usage(message: string): TwineError {
  return new TwineError("cli.usage", message);
}

/** 32 raw bytes, or 64 hex digits (surrounding whitespace allowed). */
export function readKeyFile(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw new TwineError("cli.usage", `cannot read key file ${file}`, { cause: e });
  }
  if (raw.length === 32) return raw;
  const text = raw.toString("latin1").trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, "hex");
  throw usage(`key file ${file} must hold 32 raw bytes or 64 hex digits`);
}

/** "a/b", "/a/b" or "/" to components; "." and ".." are refused rather than interpreted. */
export function volumePath(p: string): string[] {
  const parts = p.split("/").filter((s) => s.length > 0);
  if (parts.some((s) => s === "." || s === ".." || s.includes("\0")))
    throw usage(`volume paths may not contain ".", ".." or NUL: ${JSON.stringify(p)}`);
  return parts;
}

/**
 * For `twine run --pfs HOST_DIR::GUEST --key-file K`: one mount config per --pfs flag, all keyed by
 * the one key file. The volume must exist (`twine pfs create`): a run never creates one, or a host
 * that deleted a volume would hand the guest a fresh empty one.
 */
export function parsePfsFlags(flags: readonly string[], keyFile: string | undefined): MountConfig[] {
  if (flags.length === 0) return [];
  if (keyFile === undefined) throw usage("--pfs needs --key-file");
  const key = readKeyFile(keyFile);
  return flags.map((flag) => ({ type: "pfs", ...parsePfsFlag(flag), key, create: false }));
}

function parseVersion(s: string): bigint {
  if (!/^[0-9]+$/.test(s))
    throw usage(`--trusted-version expects a non-negative integer, got ${JSON.stringify(s)}`);
  return BigInt(s);
}

function parseHash(s: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw usage("--trusted-root expects 64 hex digits");
  return Buffer.from(s, "hex");
}

function withProgress<T>(total: number, run: (onBytes: OnBytes | undefined) => T): T {
  if (total < PROGRESS_MIN_BYTES || !process.stderr.isTTY) return run(undefined);
  const bar = new cliProgress.SingleBar(
    { format: "{bar} {percentage}% | {value}/{total} MiB | eta {eta}s", stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.ceil(total / 2 ** 20), 0);
  try {
    return run((bytes) => bar.update(Math.floor(bytes / 2 ** 20)));
  } finally {
    bar.stop();
  }
}

/** `--node-size`: 4K, 8K, 16K, 32K, 64K (K = 1024), or a byte count; a power of two in that range. */
export function parseNodeSize(s: string): number {
  const m = /^([0-9]+)([kK])?$/.exec(s);
  const n = m === null ? NaN : Number(m[1]) * (m[2] === undefined ? 1 : 1024);
  if (!isValidNodeSize(n))
    throw usage(
      `--node-size expects a power of two from 4K to 64K (or a byte count), got ${JSON.stringify(s)}`,
    );
  return n;
}

function printRoot(m: PfsMount): void {
  const t = m.volume.trustedRoot;
  process.stdout.write(`version ${t.version}\nroot ${Buffer.from(t.rootHash).toString("hex")}\n`);
}

interface KeyFlag {
  keyFile: string;
  /** false with --no-root-store. */
  rootStore: boolean;
}

/** The root store (default on) refuses a volume older than the one this machine last saw. */
function rootStoreOf(flags: KeyFlag): { rootStore?: RootStore } {
  return flags.rootStore ? { rootStore: RootStore.default() } : {};
}

function open(volume: string, flags: KeyFlag, readonly: boolean): PfsMount {
  return PfsMount.open(volume, readKeyFile(flags.keyFile), { readonly, ...rootStoreOf(flags) });
}

const NO_ROOT_STORE = [
  "--no-root-store",
  "do not check or record the volume's root in the state directory ($TWINE_STATE_DIR)",
] as const;

export function registerPfs(program: Command): void {
  const pfs = program
    .command("pfs")
    .description("create, fill, read and check protected (encrypted, authenticated) volumes");
  const keyOption = ["--key-file <file>", "volume key: 32 raw bytes or 64 hex digits"] as const;

  pfs
    .command("create <volume>")
    .description("create an empty volume in a new or empty host directory")
    .requiredOption(...keyOption)
    .option(...NO_ROOT_STORE)
    .option(
      "--node-size <size>",
      "node size, fixed for the volume's life: 4K (default: best for small random writes, e.g. SQLite), " +
        "8K, 16K, 32K (bulk data: fewer, larger AES-GCM seals) or 64K, or a byte count",
      "4K",
    )
    .action((volume: string, flags: KeyFlag & { nodeSize: string }) => {
      const nodeSize = parseNodeSize(flags.nodeSize);
      const m = PfsMount.create(volume, readKeyFile(flags.keyFile), { nodeSize, ...rootStoreOf(flags) });
      printRoot(m);
      m.close();
    });

  pfs
    .command("import <volume> <source> [dest]")
    .description("copy a host file or directory into the volume (default dest: /<basename of source>)")
    .requiredOption(...keyOption)
    .option(...NO_ROOT_STORE)
    .action((volume: string, source: string, dest: string | undefined, flags: KeyFlag) => {
      const m = open(volume, flags, false);
      try {
        const to = volumePath(dest ?? basename(source));
        const s = withProgress(hostTreeBytes(source), (onBytes) => importTree(m, source, to, onBytes));
        process.stdout.write(
          `imported ${s.files} files, ${s.directories} directories, ${s.symlinks} symlinks, ${s.bytes} bytes\n`,
        );
        printRoot(m);
      } finally {
        m.close();
      }
    });

  pfs
    .command("export <volume> <source> <dest>")
    .description("copy a file or directory out of the volume to a new host path")
    .requiredOption(...keyOption)
    .option(...NO_ROOT_STORE)
    .action((volume: string, source: string, dest: string, flags: KeyFlag) => {
      const m = open(volume, flags, true);
      try {
        const from = volumePath(source);
        const s = withProgress(volumeTreeBytes(m, from), (onBytes) => exportTree(m, from, dest, onBytes));
        process.stdout.write(
          `exported ${s.files} files, ${s.directories} directories, ${s.symlinks} symlinks, ${s.bytes} bytes\n`,
        );
      } finally {
        m.close();
      }
    });

  pfs
    .command("ls <volume> [path]")
    .description("list a directory of the volume")
    .requiredOption(...keyOption)
    .option(...NO_ROOT_STORE)
    .option("-l, --long", "show type, size and link targets")
    .option("-R, --recursive", "list subdirectories too")
    .action(
      (volume: string, p: string | undefined, flags: KeyFlag & { long?: boolean; recursive?: boolean }) => {
        const m = open(volume, flags, true);
        try {
          const list = (dir: string[]): void => {
            for (const e of m.readdir(dir)) {
              const full = [...dir, e.name];
              const name = flags.recursive ? full.join("/") : e.name;
              if (flags.long) {
                const st = m.lstat(full);
                const type =
                  e.filetype === FILETYPE.DIRECTORY ? "d" : e.filetype === FILETYPE.SYMBOLIC_LINK ? "l" : "-";
                const tail = e.filetype === FILETYPE.SYMBOLIC_LINK ? ` -> ${m.readlink(full)}` : "";
                process.stdout.write(`${type} ${String(st.size).padStart(12)} ${name}${tail}\n`);
              } else {
                process.stdout.write(`${name}${e.filetype === FILETYPE.DIRECTORY ? "/" : ""}\n`);
              }
              if (flags.recursive && e.filetype === FILETYPE.DIRECTORY) list(full);
            }
          };
          list(volumePath(p ?? "/"));
        } finally {
          m.close();
        }
      },
    );

  pfs
    .command("verify <volume>")
    .description("authenticate every node and check the directory tree; prints the root to remember")
    .requiredOption(...keyOption)
    .option(...NO_ROOT_STORE)
    .option("--trusted-version <n>", "fail if the volume is older than this version", parseVersion)
    .option("--trusted-root <hex>", "with --trusted-version: the root hash of that version", parseHash)
    .action((volume: string, flags: KeyFlag & { trustedVersion?: bigint; trustedRoot?: Buffer }) => {
      if ((flags.trustedVersion === undefined) !== (flags.trustedRoot === undefined))
        throw usage("--trusted-version and --trusted-root go together");
      const trusted =
        flags.trustedVersion !== undefined && flags.trustedRoot !== undefined
          ? { version: flags.trustedVersion, rootHash: flags.trustedRoot }
          : undefined;
      const m = PfsMount.open(volume, readKeyFile(flags.keyFile), {
        readonly: true,
        trusted,
        ...rootStoreOf(flags),
      });
      try {
        const r = m.volume.verify();
        process.stdout.write(
          `ok: ${r.files} files, ${r.directories} directories, ${r.symlinks} symlinks, ${r.bytes} bytes in ${r.nodes} nodes of ${m.volume.geometry.nodeSize} bytes\n`,
        );
        printRoot(m);
      } finally {
        m.close();
      }
    });

  pfs
    .command("rekey <volume>")
    .description("re-encrypt the whole volume under a new key (copies it, then swaps directories)")
    .requiredOption(...keyOption)
    .option(...NO_ROOT_STORE)
    .requiredOption("--new-key-file <file>", "the new volume key")
    .action((volume: string, flags: KeyFlag & { newKeyFile: string }) => {
      const from = open(volume, flags, true);
      const fresh = join(dirname(volume), `.${basename(volume)}.rekey-${process.pid}`);
      const old = `${fresh}.old`;
      try {
        // The copy keeps the volume's node size.
        const to = PfsMount.create(fresh, readKeyFile(flags.newKeyFile), {
          nodeSize: from.volume.geometry.nodeSize,
          ...rootStoreOf(flags),
        });
        try {
          withProgress(volumeTreeBytes(from, []), (onBytes) => copyVolume(from, to, onBytes));
          printRoot(to);
        } finally {
          to.close();
        }
      } catch (e) {
        rmSync(fresh, { recursive: true, force: true });
        throw e;
      } finally {
        from.close();
      }
      // Two renames: a crash between them leaves the volume under `old`, intact, and says so.
      renameSync(volume, old);
      renameSync(fresh, volume);
      rmSync(old, { recursive: true, force: true });
    });
}
