// `twine provision serve --policy P --secret NAME=FILE …`: the data owner's provisioning server. It
// prints its certificate's SHA-256 (the pin runtimes are launched with) and its port, then hands the
// secrets to every runtime whose RA-TLS certificate passes the policy, logging one line per
// connection outcome (never a secret's value), until SIGINT/SIGTERM or, with --once, the first
// runtime served.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { TwineError } from "../errors.js";
import { loadOwnerPolicy } from "../ratls/owner-policy.js";
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_TIMEOUT_MS,
  certFingerprint,
  createProvisionServer,
  createServerIdentity,
} from "../provision/server.js";
import type { ProvisionEvent, ServerIdentity } from "../provision/server.js";
import { checkSecretValue, parseSecretName } from "../provision/secrets.js";
import { integerIn, usage } from "./launch-flags.js";
import { readKeyFile } from "./pfs-command.js";

const KEY_FILE = "provision-server-key.pem";
const CERT_FILE = "provision-server-cert.pem";
const MAX_SECRET_FILE = 64 * 1024;

interface ServeFlags extends IdentityFlags {
  policy: string;
  secret: [string, string][];
  host: string;
  port: number;
  once?: boolean;
  json?: boolean;
  maxConnections: number;
  timeout: number;
}

function parseSecretFlag(s: string, previous: [string, string][] | undefined): [string, string][] {
  const eq = s.indexOf("=");
  if (eq <= 0 || eq === s.length - 1) throw usage(`--secret expects NAME=FILE, got ${JSON.stringify(s)}`);
  const name = s.slice(0, eq);
  parseSecretName(name, "cli.usage");
  if (previous?.some(([n]) => n === name)) throw usage(`--secret ${name} given twice`);
  return [...(previous ?? []), [name, s.slice(eq + 1)]];
}

function readSecretFile(name: string, file: string): Uint8Array {
  if (parseSecretName(name, "cli.usage").kind === "volume-key") return new Uint8Array(readKeyFile(file));
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw usage(`cannot read the file of secret ${name} (${(e as { code?: string }).code ?? "error"})`);
  }
  if (raw.length > MAX_SECRET_FILE)
    throw usage(`the file of secret ${name} is larger than ${MAX_SECRET_FILE} bytes`);
  // As `$(cat FILE)` would, minus only one trailing newline: an editor's final newline is not the value.
  const end = raw.at(-1) === 0x0a ? (raw.at(-2) === 0x0d ? raw.length - 2 : raw.length - 1) : raw.length;
  const value = new Uint8Array(raw.subarray(0, end));
  checkSecretValue(name, value, "cli.usage");
  return value;
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw usage(`cannot read ${what} ${file} (${(e as { code?: string }).code ?? "error"})`);
  }
}

function identityFromPem(certPem: string, keyPem: string, where: string): ServerIdentity {
  try {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem)))
      throw usage(`${where}: the key does not match the certificate`);
    return { certPem, keyPem, certDer: new Uint8Array(cert.raw) };
  } catch (e) {
    if (e instanceof TwineError) throw e;
    throw usage(`${where}: not a PEM certificate and private key`);
  }
}

interface IdentityFlags {
  cert?: string;
  key?: string;
  state?: string;
}

/** --cert/--key, or the identity kept in the state folder (`defaultDir` without --state), made on first use. */
function serverIdentity(flags: IdentityFlags, defaultDir: string): ServerIdentity {
  if ((flags.cert === undefined) !== (flags.key === undefined)) throw usage("--cert and --key go together");
  if (flags.cert !== undefined && flags.key !== undefined)
    return identityFromPem(readPem(flags.cert, "--cert"), readPem(flags.key, "--key"), "--cert/--key");
  const dir = resolve(flags.state ?? defaultDir);
  const keyFile = join(dir, KEY_FILE);
  const certFile = join(dir, CERT_FILE);
  if (existsSync(keyFile) || existsSync(certFile))
    return identityFromPem(readPem(certFile, "server certificate"), readPem(keyFile, "server key"), dir);
  const id = createServerIdentity();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // `wx`: two servers starting at once must not overwrite each other's key.
    writeFileSync(keyFile, id.keyPem, { mode: 0o600, flag: "wx" });
    writeFileSync(certFile, id.certPem, { flag: "wx" });
  } catch (e) {
    throw new TwineError("io.host", `cannot keep the server identity in ${dir}`, { cause: e });
  }
  return id;
}

function describe(e: ProvisionEvent): string {
  switch (e.type) {
    case "accepted":
      return `accepted ${e.remote} launch ${e.launchHash}`;
    case "served":
      return `served ${e.remote} launch ${e.launchHash} secrets ${e.names.join(",")}`;
    case "refused":
      return `refused ${e.remote} ${e.code} at ${e.step}`;
    case "bad_request":
      return `bad request ${e.remote} launch ${e.launchHash} status ${e.status}`;
    case "tls_error":
      return `refused ${e.remote} TLS handshake failed (${e.code})`;
  }
}

async function serve(flags: ServeFlags): Promise<void> {
  const policy = loadOwnerPolicy(flags.policy);
  const secrets = new Map(flags.secret.map(([name, file]) => [name, readSecretFile(name, file)] as const));
  const identity = serverIdentity(flags, dirname(flags.policy));
  const log = (e: ProvisionEvent): void => {
    process.stderr.write(
      flags.json === true ? `${JSON.stringify(e)}\n` : `twine provision: ${describe(e)}\n`,
    );
  };
  let finish: () => void = () => undefined;
  const server = createProvisionServer({
    policy,
    secrets,
    identity,
    maxConnections: flags.maxConnections,
    timeoutMs: flags.timeout * 1000,
    onEvent: (e) => {
      log(e);
      if (e.type === "served" && flags.once === true) finish();
    },
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", (e: Error & { code?: string }) =>
      reject(
        new TwineError("io.host", `cannot listen on ${flags.host}:${flags.port} (${e.code ?? e.message})`),
      ),
    );
    server.listen(flags.port, flags.host, () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : flags.port;
  const fingerprint = Buffer.from(certFingerprint(identity.certDer)).toString("hex");
  process.stdout.write(
    flags.json === true
      ? `${JSON.stringify({ fingerprint, host: flags.host, port })}\n`
      : `fingerprint ${fingerprint}\nport ${port}\n`,
  );
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      server.close(() => done());
      server.closeAllConnections();
    };
    finish = stop;
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

export function registerProvision(program: Command): void {
  const provision = program
    .command("provision")
    .description("secret provisioning over attested TLS (RA-TLS), run by the data owner");
  provision
    .command("serve")
    .description("hand secrets (pfs volume keys, env values) to runtimes whose attestation passes a policy")
    .requiredOption("--policy <file>", "the owner policy JSON (launch hashes, evidence policy, collateral)")
    .requiredOption(
      "--secret <NAME=FILE>",
      "a secret: volume-key, volume-key:/GUEST (32 raw bytes or 64 hex digits) or env:NAME (text); repeatable",
      parseSecretFlag,
    )
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--port <port>",
      "port to listen on (0: any free port, printed)",
      integerIn("--port", 0, 65535),
      0,
    )
    .option("--cert <file>", "the server's PEM certificate (with --key; default: kept in --state)")
    .option("--key <file>", "the server's PEM private key")
    .option("--state <dir>", "where the server's generated identity is kept (default: the policy's folder)")
    .option("--once", "exit after serving one accepted runtime")
    .option("--json", "print the start line and the log as JSON")
    .option(
      "--max-connections <n>",
      "most connections at once",
      integerIn("--max-connections", 1, 10_000),
      DEFAULT_MAX_CONNECTIONS,
    )
    .option(
      "--timeout <seconds>",
      "drop a connection idle or unfinished for this long",
      integerIn("--timeout", 1, 3600),
      DEFAULT_TIMEOUT_MS / 1000,
    )
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
  provision
    .command("identity")
    .description(
      "print the server certificate's SHA-256 (the runtimes' --provision-pin), making it if needed",
    )
    .option("--cert <file>", "the server's PEM certificate (with --key)")
    .option("--key <file>", "the server's PEM private key")
    .option(
      "--state <dir>",
      "where `provision serve --state` keeps its identity (default: the current folder)",
    )
    .action((flags: IdentityFlags) => {
      const id = serverIdentity(flags, ".");
      process.stdout.write(`${Buffer.from(certFingerprint(id.certDer)).toString("hex")}\n`);
    });
}
