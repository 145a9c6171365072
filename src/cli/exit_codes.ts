/** Exit codes, decided here and only here. Documented in README.md. */
import { DubError } from "../errors.ts";

export const EXIT = {
  ok: 0,
  /** Unexpected internal error. */
  internal: 1,
  /** Invalid workflow or usage. */
  usage: 2,
  /** A step failed (single clip). */
  stepFailed: 3,
  /** Some clips of a batch failed. */
  batchPartial: 4,
  /** Interrupted (SIGINT). */
  interrupted: 130,
} as const;

export function exitCodeFor(e: unknown): number {
  if (e instanceof DubError) {
    switch (e.kind) {
      case "usage":
      case "workflow":
        return EXIT.usage;
      case "interrupted":
        return EXIT.interrupted;
      default:
        return EXIT.stepFailed;
    }
  }
  if (e instanceof Error && e.name === "CommanderError") return EXIT.usage;
  return EXIT.internal;
}
