import { after, test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type * as tls from "node:tls";
import { p256KeyPair } from "../attest/synthetic.js";
import { isTwineError } from "../errors.js";
import { createRatlsIdentity, makeRatlsCert, ratlsReportData, spkiDer } from "./cert.js";
import type { RatlsIdentity } from "./cert.js";
import { connectRatls, createRatlsServer } from "./tls.js";
import type { PeerCheck } from "./tls.js";
import type { RatlsVerdict } from "./verify.js";
import { failedCodes, launchHashOf, removeTempDirs, simAccepting, simTee } from "./test-support.js";

after(removeTempDirs);

const T = { timeout: 15_000 };
const tee = simTee();
const LAUNCH = launchHashOf("server launch");
const CLIENT_LAUNCH = launchHashOf("client launch");
const HOUR = 3_600_000;

function allowSim(extra: Partial<PeerCheck> = {}): PeerCheck {
  const { now: _now, ...o } = simAccepting(tee);
  return { ...o, ...extra };
}

interface Harness {
  port: number;
  /** Bytes the server's application received from clients. */
  received: Buffer[];
  secure: (RatlsVerdict | undefined)[];
  refused: RatlsVerdict[];
  close: () => Promise<void>;
}

/** An echo server that greets each accepted client; it reads only from clients it accepted. */
async function serve(identity: RatlsIdentity, peer?: PeerCheck): Promise<Harness> {
  const h: Omit<Harness, "port" | "close"> = { received: [], secure: [], refused: [] };
  const sockets = new Set<tls.TLSSocket>();
  const server = createRatlsServer({
    identity,
    ...(peer === undefined ? {} : { peer }),
    onSecure: (socket, verdict) => {
      sockets.add(socket);
      h.secure.push(verdict);
      socket.write("hello ");
      socket.on("data", (d: Buffer) => {
        h.received.push(d);
        socket.write(d);
      });
    },
    onRefused: (v) => h.refused.push(v),
  });
  server.on("secureConnection", (s: tls.TLSSocket) => sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    ...h,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads from `socket` until `n` bytes arrived. */
function readBytes(socket: tls.TLSSocket, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    socket.on("error", reject);
    socket.on("data", (d: Buffer) => {
      got += d.toString();
      if (got.length >= n) resolve(got);
    });
  });
}

async function refusedWith(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(isTwineError(e), String(e));
    return e.code;
  }
  assert.fail("connection was not refused");
}

void test(
  "ratls tls: a verifying client and a sim-TEE server exchange data with dangerousAllowSim",
  T,
  async () => {
    const h = await serve(createRatlsIdentity(tee, { launchHash: LAUNCH }));
    try {
      const { socket, verdict } = await connectRatls({
        host: "127.0.0.1",
        port: h.port,
        peer: allowSim({ expectedLaunchHash: LAUNCH }),
      });
      assert.equal(verdict.ok, true);
      assert.deepEqual(verdict.launchHash, LAUNCH);
      const reply = readBytes(socket, "hello ping".length);
      socket.write("ping");
      assert.equal(await reply, "hello ping");
      socket.destroy();
      assert.deepEqual(h.secure, [undefined]);
    } finally {
      await h.close();
    }
  },
);

void test("ratls tls: the client refuses bad server certificates before any data", T, async () => {
  const now = Date.now();
  const a = p256KeyPair();
  const swapped = makeRatlsCert({
    keyPair: p256KeyPair(),
    evidence: tee.getEvidence(ratlsReportData(spkiDer(a.publicKey), LAUNCH)).report,
    notBefore: new Date(now - 1000),
    notAfter: new Date(now + HOUR),
  });
  const cases: { name: string; identity: RatlsIdentity; peer: PeerCheck; code: string }[] = [
    {
      name: "wrong launch hash",
      identity: createRatlsIdentity(tee, { launchHash: LAUNCH }),
      peer: allowSim({ expectedLaunchHash: launchHashOf("another module") }),
      code: "ratls.launch_hash",
    },
    { name: "swapped keys", identity: swapped, peer: allowSim(), code: "ratls.key_binding" },
    {
      name: "expired",
      identity: createRatlsIdentity(tee, { launchHash: LAUNCH, now: new Date(now - 2 * HOUR) }),
      peer: allowSim(),
      code: "ratls.expired",
    },
    {
      name: "sim under a strict policy",
      identity: createRatlsIdentity(tee, { launchHash: LAUNCH }),
      peer: { ...allowSim(), dangerousAllowSim: false },
      code: "attest.sim",
    },
    {
      name: "plain self-signed",
      identity: makeRatlsCert({
        keyPair: p256KeyPair(),
        notBefore: new Date(now - 1000),
        notAfter: new Date(now + HOUR),
      }),
      peer: allowSim(),
      code: "ratls.no_evidence",
    },
  ];
  for (const c of cases) {
    const h = await serve(c.identity);
    try {
      const code = await refusedWith(connectRatls({ host: "127.0.0.1", port: h.port, peer: c.peer }));
      assert.equal(code, c.code, c.name);
      assert.deepEqual(h.received, [], c.name);
    } finally {
      await h.close();
    }
  }
});

void test("ratls tls: mutual RA-TLS verifies both sides and then exchanges data", T, async () => {
  const h = await serve(
    createRatlsIdentity(tee, { launchHash: LAUNCH }),
    allowSim({ expectedLaunchHash: CLIENT_LAUNCH }),
  );
  try {
    const { socket, verdict } = await connectRatls({
      host: "127.0.0.1",
      port: h.port,
      peer: allowSim({ expectedLaunchHash: LAUNCH }),
      identity: createRatlsIdentity(tee, { launchHash: CLIENT_LAUNCH }),
    });
    assert.equal(verdict.ok, true);
    const reply = readBytes(socket, "hello mutual".length);
    socket.write("mutual");
    assert.equal(await reply, "hello mutual");
    socket.destroy();
    assert.equal(h.secure.length, 1);
    assert.equal(h.secure[0]?.ok, true);
    assert.deepEqual(h.secure[0]?.launchHash, CLIENT_LAUNCH);
    assert.deepEqual(h.refused, []);
  } finally {
    await h.close();
  }
});

void test(
  "ratls tls: a mutual server refuses clients without valid evidence; no data reaches it",
  T,
  async () => {
    const now = Date.now();
    const clients: { name: string; identity?: RatlsIdentity; code: string }[] = [
      { name: "no client certificate", code: "ratls.no_cert" },
      {
        name: "plain client certificate",
        identity: makeRatlsCert({
          keyPair: p256KeyPair(),
          notBefore: new Date(now - 1000),
          notAfter: new Date(now + HOUR),
        }),
        code: "ratls.no_evidence",
      },
      {
        name: "client with another launch hash",
        identity: createRatlsIdentity(tee, { launchHash: launchHashOf("rogue client") }),
        code: "ratls.launch_hash",
      },
    ];
    for (const c of clients) {
      const h = await serve(
        createRatlsIdentity(tee, { launchHash: LAUNCH }),
        allowSim({ expectedLaunchHash: CLIENT_LAUNCH }),
      );
      try {
        const refused = new Promise<void>((resolve) => {
          const t = setInterval(() => {
            if (h.refused.length > 0) {
              clearInterval(t);
              resolve();
            }
          }, 5);
        });
        // The client's own check of the server passes; it may even get to write before the server's
        // verdict, but nothing reaches the server's application and nothing comes back.
        const outcome = connectRatls({
          host: "127.0.0.1",
          port: h.port,
          peer: allowSim({ expectedLaunchHash: LAUNCH }),
          ...(c.identity === undefined ? {} : { identity: c.identity }),
        }).then(
          ({ socket }) =>
            new Promise<string>((resolve) => {
              let got = "";
              socket.on("data", (d: Buffer) => (got += d.toString()));
              socket.on("error", () => undefined);
              socket.on("close", () => resolve(got));
              socket.write("secret request");
            }),
          () => "",
        );
        await refused;
        assert.equal(await outcome, "", c.name);
        assert.deepEqual(h.secure, [], c.name);
        assert.deepEqual(h.received, [], c.name);
        assert.deepEqual(failedCodes(h.refused[0]!), [c.code], c.name);
      } finally {
        await h.close();
      }
    }
  },
);
