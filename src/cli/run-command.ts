// `twine run`: implemented by the runtime work (issue 2).
import type { Command } from "commander";

export function registerRun(_program: Command): void {}
