// Crash consistency: a child process is SIGKILLed before its k-th host write, for many k spread
// over the whole workload (node writes, superblock writes, renames). The reopened volume must be
// exactly the last committed state or the one being committed, and must verify.
// Both run at the default node size and at 32 KiB. TWINE_PFS_CRASH_POINTS sets how many kill points
// (default 12 per node size).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEFAULT_NODE_SIZE } from "./format.js";
import { PfsMount } from "./pfs-mount.js";
import { RootStore } from "./root-store.js";
import { KEY, prng, snapshot, tempDir } from "./test-helpers.js";

const CHILD = fileURLToPath(new URL("./crash-child.js", import.meta.url));
const POINTS = Number(process.env.TWINE_PFS_CRASH_POINTS ?? 12);
const NODE_SIZES = [DEFAULT_NODE_SIZE, 32768];

function run(
  dir: string,
  crashAt: number,
  nodeSize: number,
): { commits: string[]; writes: number; signal: string | null } {
  const r = spawnSync(process.execPath, [CHILD, dir, String(crashAt), String(nodeSize)], {
    encoding: "utf8",
  });
  if (r.error) throw r.error;
  if (r.signal === null && r.status !== 0) throw new Error(`crash child failed: ${r.stderr}`);
  const commits: string[] = [];
  let writes = -1;
  for (const line of r.stdout.split("\n")) {
    const [kind, a, b] = line.split(" ");
    if (kind === "commit" && b !== undefined) commits[Number(a)] = b;
    if (kind === "writes") writes = Number(a);
  }
  return { commits, writes, signal: r.signal };
}

for (const nodeSize of NODE_SIZES)
  void test(`SIGKILL at many points during writes and renames leaves a committed, verifiable state (${nodeSize / 1024} KiB nodes)`, (t) => {
    const base = tempDir(t);
    const ref = run(`${base}/ref`, -1, nodeSize);
    assert.equal(ref.signal, null);
    assert.ok(ref.writes > 50 && ref.commits.length === 7, `reference run: ${ref.writes} writes`);
    const rand = prng(99);
    const points = new Set<number>([1, 2, ref.writes]);
    for (let i = 0; points.size < POINTS + 3 && i < POINTS * 10; i++) {
      points.add(1 + (Math.floor(((i + rand()) / POINTS) * ref.writes) % ref.writes));
    }
    const seen = new Set<number>();
    for (const k of [...points].sort((a, b) => a - b)) {
      const dir = `${base}/crash-${k}`;
      const r = run(dir, k, nodeSize);
      assert.equal(r.signal, "SIGKILL", `kill point ${k}`);
      const last = r.commits.length - 1;
      r.commits.forEach((h, i) =>
        assert.equal(h, ref.commits[i], `commit ${i} differs from the reference run`),
      );
      if (last < 0) {
        // Killed while creating: no volume was ever committed, and opening says so.
        if (existsSync(`${dir}/super`)) assert.fail(`kill point ${k}: superblock without a commit`);
        assert.throws(() => PfsMount.open(dir, KEY), { code: "pfs.integrity" });
        continue;
      }
      // With the child's root store: its record is never ahead of the volume, so no false rollback.
      const m = PfsMount.open(dir, KEY, { rootStore: new RootStore(`${dir}.state`) });
      const got = snapshot(m);
      const ok = [ref.commits[last], ref.commits[last + 1]];
      assert.ok(ok.includes(got), `kill point ${k}: state is neither commit ${last} nor ${last + 1}`);
      seen.add(ok.indexOf(got));
      m.volume.verify();
      // The volume stays usable after recovery.
      m.mkdir(["after-crash"]);
      m.close();
      const again = PfsMount.open(dir, KEY);
      assert.equal(again.volume.geometry.nodeSize, nodeSize);
      again.volume.verify();
      again.close();
    }
    assert.ok(seen.has(0), "no kill point left the previous commit");
  });

/** Starts the child and SIGKILLs it from outside after `delayMs`; returns the commits it reported. */
function killAfter(
  dir: string,
  delayMs: number,
  nodeSize: number,
): Promise<{ commits: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, "-1", String(nodeSize)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      clearTimeout(timer);
      resolve({ commits: out.split("\n").filter((l) => l.startsWith("commit ")).length, signal });
    });
  });
}

for (const nodeSize of NODE_SIZES)
  void test(`SIGKILL from outside at random moments leaves a committed, verifiable state (${nodeSize / 1024} KiB nodes)`, async (t) => {
    const base = tempDir(t);
    const t0 = Date.now();
    const ref = run(`${base}/ref`, -1, nodeSize);
    const duration = Date.now() - t0;
    const rand = prng(5);
    let killed = 0;
    for (let i = 0; i < Number(process.env.TWINE_PFS_KILL_RUNS ?? 4); i++) {
      const dir = `${base}/kill-${i}`;
      const r = await killAfter(dir, Math.floor((0.2 + 0.75 * rand()) * duration), nodeSize);
      if (r.signal === "SIGKILL") killed++;
      if (!existsSync(`${dir}/super`)) continue; // killed before the volume's first commit
      const m = PfsMount.open(dir, KEY, { rootStore: new RootStore(`${dir}.state`) });
      // Output is read asynchronously, so the child may have committed more than we saw.
      const got = snapshot(m);
      assert.ok(
        ref.commits.slice(Math.max(0, r.commits - 1)).includes(got),
        `run ${i}: not a committed state`,
      );
      m.volume.verify();
      m.close();
    }
    t.diagnostic(`${killed} runs were killed before they finished`);
    assert.ok(killed > 0, `every child finished before its kill (reference run: ${duration} ms)`);
  });
