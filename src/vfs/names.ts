// The last check before a component list touches storage: every name must be one the resolver could
// have produced. A failure here means a bug or a bypass of the resolver, never a guest's honest mistake.
import { TwineError } from "../errors.js";

export function checkComponents(path: readonly string[]): void {
  for (const name of path) {
    if (name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
      throw new TwineError("vfs.escape", "invalid path component reached a mount");
    }
  }
}
