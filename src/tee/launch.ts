// The launch a set of run flags describes, as a manifest: shared by `twine measure` (what the owner
// trusts), `twine run` (what report data binds) and `twine serve` (the jobs it starts), so the three
// can never disagree on a launch hash.
import { createHash } from "node:crypto";
import type { MountConfig } from "../vfs/index.js";
import { launchManifest } from "./manifest.js";
import type { LaunchManifest, ManifestMount } from "./manifest.js";
import type { SealPolicy } from "./tee.js";

export interface LaunchFlags {
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** --dir / --mem mounts in command-line order, then --pfs ones (as `twine run` orders them). */
  mounts: readonly (MountConfig | { type: "pfs"; guestPath: string; hostPath: string })[];
  maxMemoryBytes?: number;
  maxOpenFds?: number;
  timeoutMs?: number;
  seal?: SealPolicy;
  /** SHA-256 of the provisioning server's certificate (`--provision-pin`). */
  provisionPin?: Uint8Array;
}

/** The launch manifest of a module run with these flags (what `twine run` would launch). */
export function launchOf(moduleBytes: Uint8Array, f: LaunchFlags): LaunchManifest {
  const mounts = f.mounts.map((m): ManifestMount => {
    if (m.type === "mem") return { type: "mem", guestPath: m.guestPath };
    if (m.type === "host") return { type: "host", guestPath: m.guestPath, readonly: m.readonly };
    return { type: "pfs", guestPath: m.guestPath, key: f.seal !== undefined ? "sealed" : "provided" };
  });
  const limits: { maxMemoryBytes?: number; maxOpenFds?: number; timeoutMs?: number } = {};
  if (f.maxMemoryBytes !== undefined) limits.maxMemoryBytes = f.maxMemoryBytes;
  if (f.maxOpenFds !== undefined) limits.maxOpenFds = f.maxOpenFds;
  if (f.timeoutMs !== undefined) limits.timeoutMs = Math.round(f.timeoutMs);
  return launchManifest({
    moduleHash: new Uint8Array(createHash("sha256").update(moduleBytes).digest()),
    args: f.args,
    env: f.env,
    mounts,
    limits,
    seal: f.seal ?? null,
    provision: f.provisionPin === undefined ? null : { serverSha256: f.provisionPin },
  });
}
