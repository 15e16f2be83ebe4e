// The CLI entry: the only place that reads argv, prints and picks an exit status. Each command lives
// in its own file and registers itself on the program; errors become one line and an exit status
// from the table in errors.ts.
import { Command, CommanderError } from "commander";
import { TwineError, exitStatusOf, EXIT } from "../errors.js";
import { registerMeasure } from "./measure-command.js";
import { registerPfs } from "./pfs-command.js";
import { registerRun } from "./run-command.js";
import { registerVerify } from "./verify-command.js";

export function buildProgram(): Command {
  const program = new Command("twine")
    .description("Twine: a trusted runtime for WebAssembly (WASI preview1)")
    .version("0.1.0")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerRun(program);
  registerPfs(program);
  registerVerify(program);
  registerMeasure(program);
  return program;
}

/** Runs the CLI and returns the exit status; never throws. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
