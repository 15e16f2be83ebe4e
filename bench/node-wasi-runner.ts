// Runs a WASI command module under Node's own `node:wasi`, the reference the WASI microbenchmark compares
// Twine against. Start it with `node --no-turbo-fast-api-calls` (Node 20.20 segfaults without it).
//   node --no-turbo-fast-api-calls dist/bench/node-wasi-runner.js <module.wasm> <host dir for /data> [args…]
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { WASI } from "node:wasi";

// lib ES2022 and @types/node 20 do not declare the global `WebAssembly`: the two calls used, typed here.
const wasm = (
  globalThis as unknown as {
    WebAssembly: {
      compile(bytes: Uint8Array): Promise<object>;
      instantiate(module: object, imports: object): Promise<object>;
    };
  }
).WebAssembly;

async function main(argv: readonly string[]): Promise<number> {
  const [file, dataDir, ...args] = argv;
  if (file === undefined || dataDir === undefined) {
    process.stderr.write("usage: node-wasi-runner <module.wasm> <host dir for /data> [args…]\n");
    return 2;
  }
  const wasi = new WASI({
    version: "preview1",
    args: [basename(file), ...args],
    env: {},
    preopens: { "/data": dataDir },
    returnOnExit: true,
  });
  const module = await wasm.compile(readFileSync(file));
  const instance = await wasm.instantiate(module, wasi.getImportObject());
  return wasi.start(instance);
}

process.exitCode = await main(process.argv.slice(2));
