/**
 * The one base error type for conditions a user can fix. The CLI maps `kind`
 * to an exit code in one place (src/cli/exit_codes.ts); library code only throws.
 *
 * @module
 */

/** What went wrong, from the user's point of view. */
export type ErrorKind =
  /** Bad command-line usage. */
  | "usage"
  /** The workflow file is invalid (schema, references, cycles). */
  | "workflow"
  /** An input file is missing or unusable. */
  | "input"
  /** A step failed while running. */
  | "step"
  /** The run was interrupted. */
  | "interrupted";

/** A user-facing error: a message, an optional hint on what to do, a kind. */
export class DubError extends Error {
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  constructor(
    kind: ErrorKind,
    message: string,
    options?: { hint?: string; cause?: unknown },
  ) {
    super(
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "DubError";
    this.kind = kind;
    this.hint = options?.hint;
  }
}

/** An input media file cannot be used (missing, no video, truncated…). */
export class MediaError extends DubError {
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super("input", message, options);
    this.name = "MediaError";
  }
}
