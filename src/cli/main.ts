// The CLI entry: the only place that reads argv, prints and picks an exit status. Each command lives
// in its own file and registers itself on the program; errors become one line and an exit status
// from the table in errors.ts.
import { Command, CommanderError } from "commander";
import { TwineError, exitStatusOf, EXIT } from "../errors.js";

type Register = (program: Command) => void;

// Commands load on demand: `twine run` must not pay for parsing the attestation or pfs code.
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import("./run-command.js")).registerRun,
  pfs: async () => (await import("./pfs-command.js")).registerPfs,
  verify: async () => (await import("./verify-command.js")).registerVerify,
  measure: async () => (await import("./measure-command.js")).registerMeasure,
  serve: async () => (await import("./serve-command.js")).registerServe,
  client: async () => (await import("./client-command.js")).registerClient,
  provision: async () => (await import("./provision-command.js")).registerProvision,
};

/** The program with the command named by argv[0] registered, or all of them (for help and errors). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command("twine")
    .description("Twine: a trusted runtime for WebAssembly (WASI preview1)")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const first = argv[0];
  const load = first !== undefined ? COMMANDS[first] : undefined;
  const loaders = load !== undefined ? [load] : Object.values(COMMANDS);
  for (const register of await Promise.all(loaders.map((l) => l()))) register(program);
  return program;
}

/** Runs the CLI and returns the exit status; never throws. */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  let status = EXIT.OK as number;
  program.setOptionValue("__status", 0);
  try {
    await program.parseAsync(argv, { from: "user" });
    status = (program.getOptionValue("__status") as number | undefined) ?? 0;
    const fromCommand = process.exitCode;
    if (typeof fromCommand === "number") status = fromCommand;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; every parse error is a usage error.
      return e.exitCode === 0 ? 0 : EXIT.USAGE;
    }
    process.stderr.write(`twine: ${describe(e)}\n`);
    return exitStatusOf(e);
  }
  return status;
}

function describe(e: unknown): string {
  if (e instanceof TwineError) return `${e.message} [${e.code}]`;
  if (e instanceof Error) return `internal error: ${e.message}`;
  return `internal error: ${String(e)}`;
}
