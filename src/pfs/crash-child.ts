// Child process for the crash tests: runs a fixed workload of writes, renames and deletes with a
// commit after each step and SIGKILLs itself just before host write number CRASH_AT (a real kill:
// no handler, no flush). After each commit it prints "commit <step> <snapshot>" synchronously, so
// the parent knows the last state that was durable.
import { writeSync } from "node:fs";
import { DEFAULT_NODE_SIZE } from "./format.js";
import { PfsMount } from "./pfs-mount.js";
import { RootStore } from "./root-store.js";
import { KEY, bytes, path, prng, snapshot, writeFile } from "./test-helpers.js";
import { openOptions } from "../vfs/types.js";

const [dir, crashAtArg, nodeSizeArg] = process.argv.slice(2);
if (dir === undefined) throw new Error("usage: crash-child DIR [CRASH_AT [NODE_SIZE]]");
const crashAt = Number(crashAtArg ?? -1);
const nodeSize = Number(nodeSizeArg ?? DEFAULT_NODE_SIZE);
let writes = 0;
const onHostWrite = (): void => {
  writes++;
  if (writes === crashAt) process.kill(process.pid, "SIGKILL");
};

const rand = prng(7);
// The root store beside the volume: a crash must leave its record at most one commit behind.
const m = PfsMount.create(dir, KEY, {
  cacheNodes: 16,
  nodeSize,
  onHostWrite,
  rootStore: new RootStore(`${dir}.state`),
});
let step = 0;
const commit = (): void => {
  m.sync();
  writeSync(1, `commit ${step++} ${snapshot(m)}\n`);
};
commit();

m.mkdir(path("a"));
m.mkdir(path("a/b"));
writeFile(m, "a/x", bytes(rand, 50_000));
writeFile(m, "a/b/y", bytes(rand, 5_000));
commit();

writeFile(m, "a/x", bytes(rand, 9_000), 20_000n);
writeFile(m, "a/b/y", bytes(rand, 3_000), 5_000n);
writeFile(m, "z", bytes(rand, 300_000));
commit();

m.rename(path("a/x"), path("a/b/x2"));
m.rename(path("a/b"), path("c"));
commit();

{
  const h = m.open(path("c/x2"), openOptions({ read: true, write: true }));
  h.setSize(1000n);
  h.close();
}
m.unlink(path("z"));
m.symlink("c/x2", path("ln"));
commit();

m.mkdir(path("d"));
for (let i = 0; i < 20; i++) writeFile(m, `d/f${i}`, bytes(rand, 100 + i * 300));
commit();

m.rename(path("d"), path("c/d"));
m.rename(path("c/d/f3"), path("c/d/f4"));
writeFile(m, "big", bytes(rand, 200_000));
m.rmdir(path("a"));
commit();

m.close();
writeSync(1, `writes ${writes}\n`);
