// RA-TLS cost on loopback with the sim TEE: making an identity (key pair + sim evidence + certificate),
// and a client handshake that verifies the server's certificate and evidence (policy, collateral,
// chains), against the same TLS 1.3 handshake with a plain self-signed P-256 certificate and no
// verification, measured in the same run.
//   node dist/bench/ratls-handshake.js     (TWINE_RATLS_BENCH_ITERS sets the timed runs, default 200)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import * as tls from "node:tls";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { p256KeyPair } from "../src/attest/synthetic.js";
import { createRatlsIdentity, makeRatlsCert, type RatlsIdentity } from "../src/ratls/cert.js";
import { connectRatls, createRatlsServer, ratlsClientOptions, type PeerCheck } from "../src/ratls/tls.js";
import { SimTee } from "../src/tee/sim.js";

export interface RatlsHandshakeTimes {
  iterations: number;
  /** Median ms: identity creation, verified RA-TLS handshake, plain TLS handshake, and their sum. */
  identityMs: number;
  ratlsHandshakeMs: number;
  plainHandshakeMs: number;
  /** Identity creation + verified handshake: a fresh attested session from nothing. */
  freshMs: number;
  /** RA-TLS handshake / plain handshake. */
  ratio: number;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN;

function listen(server: tls.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

function plainHandshake(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, ...ratlsClientOptions() }, () => {
      s.destroy();
      resolve();
    });
    s.on("error", reject);
  });
}

export async function runRatlsHandshake(
  iterations = Number(process.env.TWINE_RATLS_BENCH_ITERS ?? "200"),
): Promise<RatlsHandshakeTimes> {
  const scratch = mkdtempSync(join(tmpdir(), "twine-bench-ratls-"));
  try {
    const dist = join(scratch, "dist");
    mkdirSync(join(dist, "src"), { recursive: true });
    writeFileSync(join(dist, "src", "runtime.js"), "export {};\n");
    const tee = new SimTee({ dir: join(scratch, "sim"), runtimeDist: dist });
    const launchHash = new Uint8Array(32).fill(7);
    const peer: PeerCheck = {
      collateral: tee.collateral(new Date()),
      roots: { intelSgxRootCa: tee.rootDer },
      dangerousAllowSim: true,
      expectedLaunchHash: launchHash,
    };

    const identityMs: number[] = [];
    let identity: RatlsIdentity | undefined;
    for (let i = 0; i < 10 + iterations; i++) {
      const t0 = performance.now();
      identity = createRatlsIdentity(tee, { launchHash });
      if (i >= 10) identityMs.push(performance.now() - t0);
    }
    const now = Date.now();
    const plainIdentity = makeRatlsCert({
      keyPair: p256KeyPair(),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3_600_000),
    });
    const ratlsServer = createRatlsServer({ identity: identity!, onSecure: (s) => s.end() });
    const plainServer = createRatlsServer({ identity: plainIdentity, onSecure: (s) => s.end() });
    const ratlsPort = await listen(ratlsServer);
    const plainPort = await listen(plainServer);
    const ratlsMs: number[] = [];
    const plainMs: number[] = [];
    try {
      // Interleaved, so background load hits both alike.
      for (let i = 0; i < 10 + iterations; i++) {
        let t0 = performance.now();
        const c = await connectRatls({ host: "127.0.0.1", port: ratlsPort, peer });
        const r = performance.now() - t0;
        c.socket.destroy();
        t0 = performance.now();
        await plainHandshake(plainPort);
        const p = performance.now() - t0;
        if (i >= 10) {
          ratlsMs.push(r);
          plainMs.push(p);
        }
      }
    } finally {
      ratlsServer.close();
      plainServer.close();
    }
    const id = median(identityMs);
    const hs = median(ratlsMs);
    const plain = median(plainMs);
    return {
      iterations,
      identityMs: id,
      ratlsHandshakeMs: hs,
      plainHandshakeMs: plain,
      freshMs: id + hs,
      ratio: hs / plain,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function formatRatlsHandshake(r: RatlsHandshakeTimes): string {
  const f = (x: number): string => `${x.toFixed(2).padStart(7)} ms`;
  return [
    `RA-TLS handshake (sim TEE, loopback), median of ${r.iterations} after 10 warm-up`,
    `identity: key pair + sim evidence + certificate   ${f(r.identityMs)}`,
    `handshake + certificate and evidence verification ${f(r.ratlsHandshakeMs)}`,
    `plain TLS 1.3 handshake, self-signed, no checks   ${f(r.plainHandshakeMs)}`,
    `fresh attested session (identity + handshake)     ${f(r.freshMs)}`,
    `RA-TLS handshake / plain handshake: ${r.ratio.toFixed(2)}x`,
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${formatRatlsHandshake(await runRatlsHandshake())}\n`);
}
