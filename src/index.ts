// Public library API. Side-effect free: importing it starts nothing.
export { TwineError, isTwineError, ERRNO, EXIT } from "./errors.js";
export type { ErrorCode } from "./errors.js";
