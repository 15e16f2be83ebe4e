import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Server } from "node:https";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { p256KeyPair } from "../attest/synthetic.js";
import { createRatlsIdentity, makeRatlsCert } from "../ratls/cert.js";
import type { RatlsIdentity } from "../ratls/cert.js";
import { parsePeerCert } from "../ratls/peer-cert.js";
import { parseOwnerPolicy } from "../ratls/owner-policy.js";
import { ratlsClientOptions } from "../ratls/tls.js";
import { extractEvidence } from "../ratls/verify.js";
import { launchHashOf, removeTempDirs, simTee } from "../ratls/test-support.js";
import { SimTee } from "../tee/sim.js";
import { provisionSecrets } from "./client.js";
import { envOf, volumeKeyFor } from "./secrets.js";
import { certFingerprint, createProvisionServer, createServerIdentity } from "./server.js";
import type { ProvisionEvent, ProvisionServerOptions } from "./server.js";

after(removeTempDirs);

const LAUNCH = launchHashOf("provisioned launch");
const VOLUME_KEY = new Uint8Array(randomBytes(32));
const DATA_KEY = new Uint8Array(randomBytes(32));
const SECRETS = new Map<string, Uint8Array>([
  ["volume-key", VOLUME_KEY],
  ["volume-key:/data", DATA_KEY],
  ["env:GREETING", new TextEncoder().encode("hello")],
]);
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

interface Running {
  server: Server;
  url: string;
  pin: Uint8Array;
  events: ProvisionEvent[];
  close(): Promise<void>;
}

async function start(
  tee: SimTee,
  extra: Partial<Omit<ProvisionServerOptions, "policy">> & { policy?: object } = {},
): Promise<Running> {
  const { policy: policyJson, ...rest } = extra;
  const policy = parseOwnerPolicy(
    JSON.stringify(policyJson ?? { launchHashes: [hex(LAUNCH)], dangerousAllowSim: true, simDir: tee.dir }),
    "/",
  );
  const identity = createServerIdentity();
  const events: ProvisionEvent[] = [];
  const server = createProvisionServer({
    policy,
    secrets: SECRETS,
    identity,
    onEvent: (e) => events.push(e),
    ...rest,
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    url: `https://127.0.0.1:${port}`,
    pin: certFingerprint(identity.certDer),
    events,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Waits until `events` has one matching `pred` (events are emitted after the client may return). */
async function eventually(
  events: ProvisionEvent[],
  pred: (e: ProvisionEvent) => boolean,
): Promise<ProvisionEvent> {
  for (let i = 0; i < 200; i++) {
    const e = events.find(pred);
    if (e !== undefined) return e;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`no such event in ${JSON.stringify(events)}`);
}

interface Attempt {
  bytes: Buffer;
  session: Buffer | undefined;
  resumed: boolean;
}

/** Connects with `identity` as given (resuming `session`), asks for the secrets; every byte the server sent. */
function rawAttempt(
  url: string,
  identity: Pick<RatlsIdentity, "keyPem" | "certPem"> | undefined,
  session?: Buffer,
): Promise<Attempt> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let newSession: Buffer | undefined;
    let resumed = false;
    const socket = tls.connect({
      host: u.hostname,
      port: Number(u.port),
      ...ratlsClientOptions(identity),
      ...(session === undefined ? {} : { session }),
    });
    socket.on("session", (sess: Buffer) => (newSession = sess));
    socket.on("secureConnect", () => {
      resumed = socket.isSessionReused();
      socket.write(
        "POST /v1/secrets HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
      );
    });
    socket.on("data", (d: Buffer) => got.push(d));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve({ bytes: Buffer.concat(got), session: newSession, resumed }));
  });
}

function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => "resolved",
    (e: { code?: string }) => e.code ?? "no code",
  );
}

void test("provision: a runtime passing the policy gets exactly the secrets; env and volume keys resolve", async () => {
  const tee = simTee();
  const s = await start(tee);
  try {
    const got = await provisionSecrets({ url: s.url, pin: s.pin, tee, launchHash: LAUNCH });
    assert.deepEqual(got, SECRETS);
    assert.deepEqual(volumeKeyFor(got, "/data"), DATA_KEY);
    assert.deepEqual(volumeKeyFor(got, "/other"), VOLUME_KEY);
    assert.deepEqual(envOf(got), { GREETING: "hello" });
    const served = await eventually(s.events, (e) => e.type === "served");
    assert.equal(served.type === "served" && served.launchHash, hex(LAUNCH));
    assert.throws(() => volumeKeyFor(new Map(), "/data"), { code: "provision.missing" });
  } finally {
    await s.close();
  }
});

void test("provision: refused runtimes get no secret and no HTTP response at all", async () => {
  const tee = simTee();
  const s = await start(tee, {
    policy: { launchHashes: [hex(LAUNCH)], dangerousAllowSim: true, simDir: tee.dir, maxCertAgeSeconds: 60 },
  });
  try {
    const refused = async (
      identity: Pick<RatlsIdentity, "keyPem" | "certPem"> | undefined,
      code: string,
    ): Promise<void> => {
      const before = s.events.length;
      const { bytes } = await rawAttempt(s.url, identity);
      assert.equal(bytes.length, 0, `a refused client (${code}) got bytes`);
      const e = await eventually(s.events.slice(before), (x) => x.type === "refused");
      assert.equal(e.type === "refused" && e.code, code);
    };
    // A different module: its launch hash is not in the policy.
    assert.equal(
      await codeOf(
        provisionSecrets({ url: s.url, pin: s.pin, tee, launchHash: launchHashOf("another module") }),
      ),
      "provision.refused",
    );
    assert.equal((await eventually(s.events, (e) => e.type === "refused")).type, "refused");
    await refused(
      createRatlsIdentity(tee, { launchHash: launchHashOf("another module") }),
      "ratls.launch_hash",
    );
    // Stale: made two minutes ago, the policy allows 60 s.
    await refused(
      createRatlsIdentity(tee, { launchHash: LAUNCH, now: new Date(Date.now() - 120_000) }),
      "ratls.stale",
    );
    // Evidence copied from a valid certificate onto another key: report data does not bind that key.
    const valid = createRatlsIdentity(tee, { launchHash: LAUNCH });
    const { evidence } = extractEvidence(parsePeerCert(valid.certDer));
    const now = Date.now();
    const copied = makeRatlsCert({
      keyPair: p256KeyPair(),
      evidence,
      notBefore: new Date(now - 1000),
      notAfter: new Date(now + 60_000),
    });
    await refused(copied, "ratls.key_binding");
    // A plain self-signed certificate, and none at all.
    await refused(createServerIdentity(), "ratls.no_evidence");
    await refused(undefined, "ratls.no_cert");
    // A debug enclave (sim marks its quotes DEBUG under a test option).
    const debugTee = new SimTee({ dir: tee.dir, debug: true });
    assert.equal(
      await codeOf(provisionSecrets({ url: s.url, pin: s.pin, tee: debugTee, launchHash: LAUNCH })),
      "provision.refused",
    );
    await eventually(s.events, (e) => e.type === "refused" && e.code === "attest.debug");
    // The valid one still passes: refusals concern only their own connection.
    const first = await rawAttempt(s.url, valid);
    assert.equal(first.bytes.toString("latin1").split("\r\n")[0], "HTTP/1.1 200 OK");
    // No session resumption: every connection shows its certificate again.
    assert.notEqual(first.session, undefined);
    const again = await rawAttempt(s.url, valid, first.session);
    assert.equal(again.resumed, false);
    assert.equal(again.bytes.toString("latin1").split("\r\n")[0], "HTTP/1.1 200 OK");
    assert.equal(s.events.filter((e) => e.type === "served").length, 2);
  } finally {
    await s.close();
  }
});

void test("provision: a strict policy refuses the sim TEE", async () => {
  const tee = simTee();
  const { serializeDcapCollateral } = await import("../attest/collateral.js");
  const fs = await import("node:fs");
  const path = await import("node:path");
  const { tempDir } = await import("../ratls/test-support.js");
  const dir = tempDir("strict-provision");
  fs.writeFileSync(path.join(dir, "collateral.json"), serializeDcapCollateral(tee.collateral(new Date())));
  const policy = parseOwnerPolicy(
    JSON.stringify({ launchHashes: [hex(LAUNCH)], collateral: ["collateral.json"] }),
    dir,
  );
  const identity = createServerIdentity();
  const events: ProvisionEvent[] = [];
  const server = createProvisionServer({
    policy,
    secrets: SECRETS,
    identity,
    onEvent: (e) => events.push(e),
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const code = await codeOf(
      provisionSecrets({ url, pin: certFingerprint(identity.certDer), tee, launchHash: LAUNCH }),
    );
    assert.equal(code, "provision.refused");
    const e = await eventually(events, (x) => x.type === "refused");
    assert.equal(e.type === "refused" && e.code, "attest.sim");
    assert.equal(events.filter((x) => x.type === "served").length, 0);
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

void test("provision: the runtime refuses an impostor server (pin) and says when none is reachable", async () => {
  const tee = simTee();
  const s = await start(tee);
  try {
    const wrong = new Uint8Array(s.pin);
    wrong[0]! ^= 1;
    assert.equal(
      await codeOf(provisionSecrets({ url: s.url, pin: wrong, tee, launchHash: LAUNCH })),
      "provision.pin",
    );
    assert.equal(s.events.filter((e) => e.type === "served").length, 0);
  } finally {
    await s.close();
  }
  const closed = await new Promise<number>((r) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => r(port));
    });
  });
  assert.equal(
    await codeOf(
      provisionSecrets({ url: `https://127.0.0.1:${closed}`, pin: s.pin, tee, launchHash: LAUNCH }),
    ),
    "provision.connect",
  );
});

void test("provision: garbage, silent and excess clients are dropped and the server keeps serving", async () => {
  const tee = simTee();
  const s = await start(tee, { timeoutMs: 300, maxConnections: 4 });
  try {
    const port = Number(new URL(s.url).port);
    const closedWithin = (write: Buffer | undefined): Promise<number> =>
      new Promise((r) => {
        const t0 = Date.now();
        const c = net.connect(port, "127.0.0.1", () => {
          if (write !== undefined) c.write(write);
        });
        c.on("error", () => undefined);
        c.on("close", () => r(Date.now() - t0));
      });
    // Garbage instead of a ClientHello, and a client that never speaks: both dropped.
    assert.ok((await closedWithin(randomBytes(512))) < 2000);
    assert.ok((await closedWithin(undefined)) < 2000);
    await eventually(s.events, (e) => e.type === "tls_error");
    // Connections beyond maxConnections are closed at once; the others when their timeout ends.
    const idle = await Promise.all(Array.from({ length: 6 }, () => closedWithin(undefined)));
    assert.ok(idle.every((ms) => ms < 2000));
    assert.ok(idle.filter((ms) => ms < 200).length >= 2, `excess connections held: ${idle.join(", ")}`);
    const got = await provisionSecrets({ url: s.url, pin: s.pin, tee, launchHash: LAUNCH });
    assert.equal(got.size, SECRETS.size);
  } finally {
    await s.close();
  }
});
