// Crash consistency: a child process is SIGKILLed before its k-th host write, for many k spread
// over the whole workload (node writes, superblock writes, renames). The reopened volume must be
// exactly the last committed state or the one being committed, and must verify.
// TWINE_PFS_CRASH_POINTS sets how many kill points (default 12).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PfsMount } from "./pfs-mount.js";
import { KEY, prng, snapshot, tempDir } from "./test-helpers.js";

const CHILD = fileURLToPath(new URL("./crash-child.js", import.meta.url));
const POINTS = Number(process.env.TWINE_PFS_CRASH_POINTS ?? 12);

function run(dir: string, crashAt: number): { commits: string[]; writes: number; signal: string | null } {
  const r = spawnSync(process.execPath, [CHILD, dir, String(crashAt)], { encoding: "utf8" });
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

void test("SIGKILL at many points during writes and renames leaves a committed, verifiable state", (t) => {
  const base = tempDir(t);
  const ref = run(`${base}/ref`, -1);
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
    const r = run(dir, k);
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
    const m = PfsMount.open(dir, KEY);
    const got = snapshot(m);
    const ok = [ref.commits[last], ref.commits[last + 1]];
    assert.ok(ok.includes(got), `kill point ${k}: state is neither commit ${last} nor ${last + 1}`);
    seen.add(ok.indexOf(got));
    m.volume.verify();
    // The volume stays usable after recovery.
    m.mkdir(["after-crash"]);
    m.close();
    PfsMount.open(dir, KEY).volume.verify();
  }
  assert.ok(seen.has(0), "no kill point left the previous commit");
});
