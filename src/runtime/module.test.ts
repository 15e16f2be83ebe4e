import { test } from "node:test";
import assert from "node:assert/strict";
import { isTwineError, type ErrorCode } from "../errors.js";
import {
  MAX_MODULE_BYTES,
  WASM_PAGE_BYTES,
  capMemory,
  checkCommand,
  checkImports,
  compileModule,
  findUnknownImports,
  parseModule,
  type ImportDesc,
} from "./module.js";
import {
  HEADER,
  body,
  codeSection,
  commandModule,
  exportOf,
  exportSection,
  funcType,
  functionSection,
  importFunc,
  limits,
  moduleOf,
  section,
  str,
  typeSection,
  uleb,
} from "./test-module-builder.js";
import { wasm } from "./wasm-api.js";

function throwsCode(f: () => unknown, code: ErrorCode): void {
  assert.throws(f, (e) => isTwineError(e, code));
}

async function rejectsCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e) => isTwineError(e, code));
}

/** Instantiates a module built by commandModule and calls its `grow` export. */
async function instantiateGrow(bytes: Uint8Array): Promise<(pages: number) => number> {
  const instance = await wasm.instantiate(await compileModule(bytes), {});
  return instance.exports["grow"] as (pages: number) => number;
}

void test("a valid command module parses: imports, exports, memory, code size", async () => {
  const bytes = commandModule({
    imports: [importFunc("wasi_snapshot_preview1", "proc_exit", 0)],
    memory: limits(2, 10),
  });
  const info = parseModule(bytes);
  assert.deepEqual(info.imports, [{ module: "wasi_snapshot_preview1", name: "proc_exit", kind: "function" }]);
  assert.deepEqual(
    info.exports.map((e) => [e.name, e.kind, e.index]),
    [
      ["_start", "function", 1],
      ["grow", "function", 2],
      ["memory", "memory", 0],
    ],
  );
  assert.deepEqual(info.memories, [{ min: 2, max: 10, shared: false, memory64: false }]);
  assert.ok(info.codeBytes > 0);
  checkCommand(info);
  await compileModule(bytes);
});

void test("not Wasm: empty, text, ELF, a short file are module.invalid", () => {
  for (const input of [[], [...new TextEncoder().encode("(module)")], [0x7f, 0x45, 0x4c, 0x46, 2, 1], [0]]) {
    throwsCode(() => parseModule(new Uint8Array(input)), "module.invalid");
  }
});

void test("a truncated header and other binary versions (components) are module.invalid", () => {
  throwsCode(() => parseModule(new Uint8Array(HEADER.slice(0, 6))), "module.invalid");
  throwsCode(
    () => parseModule(new Uint8Array([...HEADER.slice(0, 4), 0x0d, 0x00, 0x01, 0x00])),
    "module.invalid",
  );
  throwsCode(
    () => parseModule(new Uint8Array([...HEADER.slice(0, 4), 0x02, 0x00, 0x00, 0x00])),
    "module.invalid",
  );
});

void test("the bare header is a (useless) module; as a command it lacks _start", () => {
  const info = parseModule(new Uint8Array(HEADER));
  assert.deepEqual(info.imports, []);
  throwsCode(() => checkCommand(info), "module.link");
});

void test("every truncation of a valid module is module.invalid (never another exception)", () => {
  const bytes = commandModule({ imports: [importFunc("wasi_snapshot_preview1", "fd_write", 0)] });
  let rejected = 0;
  for (let n = 0; n < bytes.length; n++) {
    try {
      parseModule(bytes.subarray(0, n));
    } catch (e) {
      assert.ok(isTwineError(e, "module.invalid"), `length ${n}: ${String(e)}`);
      rejected++;
    }
  }
  // Cutting exactly at a section boundary leaves a well-formed prefix; every other cut is caught.
  assert.ok(rejected >= bytes.length - 8, `only ${rejected} of ${bytes.length} truncations rejected`);
});

void test("a section whose size runs past the end is module.invalid", () => {
  const bytes = moduleOf([10, ...uleb(100), 0x00]);
  throwsCode(() => parseModule(bytes), "module.invalid");
});

void test("an import section whose content overruns its declared size is module.invalid", () => {
  const entry = importFunc("env", "f", 0);
  // The vector claims one entry but the section ends in the middle of it.
  const payload = [1, ...entry.slice(0, 5)];
  throwsCode(
    () => parseModule(moduleOf(typeSection([funcType([], [])]), section(2, payload))),
    "module.invalid",
  );
});

void test("a vector count larger than its section is module.invalid without allocating", () => {
  throwsCode(() => parseModule(moduleOf(section(2, uleb(0xffffffff)))), "module.invalid");
});

void test("overlong and too-large LEB128 integers are module.invalid", () => {
  // Section size as a 6-byte LEB128 (u32 allows at most 5 bytes).
  throwsCode(() => parseModule(moduleOf([0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00])), "module.invalid");
  // A 5-byte LEB128 whose value needs more than 32 bits.
  throwsCode(() => parseModule(moduleOf([0, 0xff, 0xff, 0xff, 0xff, 0x7f])), "module.invalid");
});

void test("unknown section ids, duplicate sections and trailing bytes are module.invalid", () => {
  throwsCode(() => parseModule(moduleOf(section(14, []))), "module.invalid");
  const mem = section(5, [1, ...limits(1)]);
  throwsCode(() => parseModule(moduleOf(mem, mem)), "module.invalid");
  throwsCode(() => parseModule(moduleOf(section(5, [1, ...limits(1), 0x00]))), "module.invalid");
});

void test("custom sections may repeat and are skipped", () => {
  const custom = section(0, [...str("name"), 1, 2, 3]);
  const info = parseModule(moduleOf(custom, custom, section(5, [1, ...limits(3)])));
  assert.deepEqual(info.memories, [{ min: 3, shared: false, memory64: false }]);
});

void test("malformed UTF-8 in an import name is module.invalid", () => {
  const bad = [...str("wasi_snapshot_preview1"), 2, 0xc3, 0x28, 0x00, 0x00];
  throwsCode(
    () => parseModule(moduleOf(typeSection([funcType([], [])]), section(2, [1, ...bad]))),
    "module.invalid",
  );
});

void test("bad limits flags and unknown import kinds are module.invalid", () => {
  throwsCode(() => parseModule(moduleOf(section(5, [1, 0x08, 1]))), "module.invalid");
  const badKind = [...str("env"), ...str("x"), 0x09, 0x00];
  throwsCode(() => parseModule(moduleOf(section(2, [1, ...badKind]))), "module.invalid");
});

void test("a module over the size cap is module.invalid before any parsing", () => {
  const big = new Uint8Array(MAX_MODULE_BYTES + 1);
  big.set(HEADER);
  throwsCode(() => parseModule(big), "module.invalid");
});

void test("random single-byte corruption never escapes as anything but module.invalid", () => {
  const base = commandModule({
    imports: [importFunc("wasi_snapshot_preview1", "fd_write", 0), importFunc("env", "g", 0)],
    memory: limits(1, 4),
  });
  const rounds = Number(process.env["TWINE_RUNTIME_FUZZ_ROUNDS"] ?? 3000);
  let seed = 12345;
  const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let i = 0; i < rounds; i++) {
    const bytes = base.slice();
    const flips = 1 + (next() % 3);
    for (let f = 0; f < flips; f++) bytes[8 + (next() % (bytes.length - 8))] = next() & 0xff;
    try {
      parseModule(bytes);
    } catch (e) {
      assert.ok(isTwineError(e, "module.invalid"), `round ${i}: ${String(e)}`);
    }
  }
});

void test("V8 validation failures become module.invalid", async () => {
  // Structurally fine for the walker, but the body uses an undefined opcode.
  const bytes = moduleOf(typeSection([funcType([], [])]), functionSection([0]), codeSection([body(0xff)]));
  parseModule(bytes);
  await rejectsCode(compileModule(bytes), "module.invalid");
});

void test("missing _start, a non-function _start, no memory export: module.link", () => {
  throwsCode(
    () => checkCommand(parseModule(commandModule({ exports: [exportOf("memory", "memory", 0)] }))),
    "module.link",
  );
  throwsCode(
    () =>
      checkCommand(
        parseModule(
          commandModule({ exports: [exportOf("_start", "memory", 0), exportOf("memory", "memory", 0)] }),
        ),
      ),
    "module.link",
  );
  throwsCode(
    () => checkCommand(parseModule(commandModule({ exports: [exportOf("_start", "function", 0)] }))),
    "module.link",
  );
});

void test("an imported memory is module.link", () => {
  const importMem = [...str("env"), ...str("memory"), 0x02, ...limits(1)];
  const bytes = commandModule({
    imports: [importMem],
    memory: null,
    exports: [exportOf("_start", "function", 0), exportOf("memory", "memory", 0)],
  });
  const info = parseModule(bytes);
  assert.deepEqual(info.imports, [{ module: "env", name: "memory", kind: "memory" }]);
  throwsCode(() => checkCommand(info), "module.link");
});

void test("imports: unknown modules, unknown names and wrong kinds are all listed", () => {
  const provided = { wasi_snapshot_preview1: { fd_write: () => 0, proc_exit: () => undefined } };
  const imports: ImportDesc[] = [
    { module: "wasi_snapshot_preview1", name: "fd_write", kind: "function" },
    { module: "env", name: "foo", kind: "function" },
    { module: "wasi_snapshot_preview1", name: "sock_magic", kind: "function" },
    { module: "wasi_snapshot_preview1", name: "proc_exit", kind: "global" },
    { module: "wasi_snapshot_preview1", name: "toString", kind: "function" },
  ];
  assert.deepEqual(
    findUnknownImports(imports, provided).map((i) => `${i.module}.${i.name}`),
    [
      "env.foo",
      "wasi_snapshot_preview1.sock_magic",
      "wasi_snapshot_preview1.proc_exit",
      "wasi_snapshot_preview1.toString",
    ],
  );
  throwsCode(() => checkImports(imports, provided), "module.link");
  checkImports(imports.slice(0, 1), provided);
});

void test("capMemory sets a maximum where there was none, and memory.grow stops at it", async () => {
  const bytes = commandModule({ memory: limits(1) });
  const capped = capMemory(bytes, parseModule(bytes), 4 * WASM_PAGE_BYTES);
  assert.deepEqual(parseModule(capped).memories, [{ min: 1, max: 4, shared: false, memory64: false }]);
  const grow = await instantiateGrow(capped);
  assert.equal(grow(3), 1); // old size: 1 page, now 4
  assert.equal(grow(1), -1); // past the cap: memory.grow fails inside the guest
  assert.equal(grow(0), 4);
});

void test("capMemory lowers a larger maximum and keeps a smaller one", () => {
  const larger = commandModule({ memory: limits(1, 1000) });
  assert.equal(parseModule(capMemory(larger, parseModule(larger), 8 * WASM_PAGE_BYTES)).memories[0]?.max, 8);
  const smaller = commandModule({ memory: limits(1, 3) });
  assert.equal(
    parseModule(capMemory(smaller, parseModule(smaller), 8 * WASM_PAGE_BYTES)).memories[0]?.max,
    3,
  );
});

void test("capMemory rounds the limit down to whole pages and accepts min == limit", () => {
  const bytes = commandModule({ memory: limits(2) });
  const capped = capMemory(bytes, parseModule(bytes), 3 * WASM_PAGE_BYTES - 1);
  assert.equal(parseModule(capped).memories[0]?.max, 2);
});

void test("an initial memory over the limit is run.memory_limit", () => {
  const bytes = commandModule({ memory: limits(5) });
  throwsCode(() => capMemory(bytes, parseModule(bytes), 4 * WASM_PAGE_BYTES), "run.memory_limit");
});

void test("capMemory keeps the rest of the module intact when the section grows", async () => {
  // A one-byte section size becomes a longer encoding: 200 pages needs a 2-byte LEB128 maximum.
  const bytes = commandModule({
    imports: [importFunc("wasi_snapshot_preview1", "fd_write", 0)],
    memory: limits(1),
  });
  const before = parseModule(bytes);
  const capped = capMemory(bytes, before, 200 * WASM_PAGE_BYTES);
  assert.ok(capped.length > bytes.length);
  const after = parseModule(capped);
  assert.deepEqual(after.imports, before.imports);
  assert.deepEqual(after.exports, before.exports);
  assert.equal(after.codeBytes, before.codeBytes);
  assert.equal(after.memories[0]?.max, 200);
  await compileModule(capped);
  // The input is not modified.
  assert.deepEqual(parseModule(bytes).memories, before.memories);
});

void test("capMemory keeps a shared memory shared", () => {
  const bytes = moduleOf(section(5, [1, ...limits(1, 100, true)]));
  const capped = capMemory(bytes, parseModule(bytes), 10 * WASM_PAGE_BYTES);
  assert.deepEqual(parseModule(capped).memories, [{ min: 1, max: 10, shared: true, memory64: false }]);
});

void test("capMemory leaves a module without a memory section unchanged", () => {
  const bytes = moduleOf(typeSection([funcType([], [])]));
  assert.equal(capMemory(bytes, parseModule(bytes), WASM_PAGE_BYTES), bytes);
});

void test("a global export is parsed with its kind and index", () => {
  const info = parseModule(moduleOf(exportSection([exportOf("a", "global", 7)])));
  assert.deepEqual(info.exports, [{ name: "a", kind: "global", index: 7 }]);
});
