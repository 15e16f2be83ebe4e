// The launch manifest: everything that decides what a guest computes, and nothing the operator may
// freely choose without changing it (host paths, tiering). Its canonical JSON and that text's SHA-256
// (the launch hash) are what `twine measure` prints for data owners and what report data binds.
// `provision` pins the provisioning server a runtime takes its secrets from (`twine run --provision
// URL --provision-pin SHA256`): `{ serverSha256 }`, the hex SHA-256 of that server's certificate, or
// null. It is part of the launch so an owner's policy (launch hashes from `twine measure
// --provision-pin`) accepts only runtimes that also refuse impostor servers; the URL is not, since
// the operator may move the server.
import { TwineError } from "../errors.js";
import { canonicalJson } from "./canonical-json.js";
import type { CanonicalValue } from "./canonical-json.js";
import { sha256 } from "./tee.js";
import type { SealPolicy } from "./tee.js";

export const MANIFEST_VERSION = 1;

/** A mount as the guest sees it: its path, its kind, and for pfs where its key comes from. */
export type ManifestMount =
  | { type: "mem"; guestPath: string }
  | { type: "host"; guestPath: string; readonly: boolean }
  | { type: "pfs"; guestPath: string; key: "sealed" | "provided" };

export interface LaunchInput {
  moduleHash: Uint8Array;
  /** The guest's arguments after argv[0] (argv[0] is the module's file name, chosen by the host). */
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  mounts: readonly ManifestMount[];
  limits: { maxMemoryBytes?: number; maxOpenFds?: number; timeoutMs?: number };
  /** Sealing policy for pfs keys and guest seal calls; null when nothing is sealed. */
  seal: SealPolicy | null;
  /** SHA-256 of the provisioning server's certificate the runtime pins; absent or null: none. */
  provision?: { serverSha256: Uint8Array } | null;
}

export interface LaunchManifest {
  /** The canonical JSON text (UTF-8) that is hashed. */
  json: string;
  /** SHA-256 of `json`. */
  hash: Uint8Array;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

export function launchManifest(i: LaunchInput): LaunchManifest {
  if (i.moduleHash.length !== 32)
    throw new TwineError("tee.manifest", "module hash must be a 32-byte SHA-256");
  if (i.provision != null && i.provision.serverSha256.length !== 32)
    throw new TwineError("tee.manifest", "provisioning server pin must be a 32-byte SHA-256");
  const limit = (n: number | undefined): CanonicalValue => (n === undefined ? null : n);
  const doc: CanonicalValue = {
    twineLaunchManifest: MANIFEST_VERSION,
    module: { sha256: hex(i.moduleHash) },
    args: [...i.args],
    env: { ...i.env },
    // Order matters: mounts become preopened fds 3, 4, … in this order.
    mounts: i.mounts.map((m): CanonicalValue => ({ ...m })),
    limits: {
      maxMemoryBytes: limit(i.limits.maxMemoryBytes),
      maxOpenFds: limit(i.limits.maxOpenFds),
      timeoutMs: limit(i.limits.timeoutMs),
    },
    tee: { seal: i.seal },
    provision: i.provision == null ? null : { serverSha256: hex(i.provision.serverSha256) },
  };
  const json = canonicalJson(doc);
  return { json, hash: sha256(Buffer.from(json, "utf8")) };
}
