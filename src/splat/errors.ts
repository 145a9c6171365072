/**
 * User-facing errors of the splatter (unusable scene or camera files, backend
 * unavailable). Programmer errors (wrong array shapes) stay RangeError/TypeError.
 *
 * @module
 */
import { DubError } from "../errors.ts";

/** A scene (.ply) or camera (.json) file cannot be used. */
export class SplatInputError extends DubError {
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super("input", message, options);
    this.name = "SplatInputError";
  }
}

/** The requested backend cannot run here (e.g. `--backend webgpu` without an adapter). */
export class SplatBackendError extends DubError {
  constructor(message: string, options?: { hint?: string; cause?: unknown }) {
    super("usage", message, options);
    this.name = "SplatBackendError";
  }
}
