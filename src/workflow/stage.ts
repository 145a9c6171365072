/**
 * The contract every step type implements. A step type is one file in
 * `src/stages/` that calls {@link defineStage} and is listed in
 * `src/stages/mod.ts`; the runner needs no edit to learn it.
 *
 * @module
 */
import type { z } from "zod";
import type { MediaBackend } from "../media/types.ts";

/** JSON-serialisable value (for value outputs stored in the cache manifest). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A declared output of a step type. */
export type OutputSpec =
  | { kind: "file"; ext: string; description: string }
  | { kind: "value"; description: string };

/** What a step's run function gets from the runner. */
export interface StageContext {
  /** Step id in the workflow (for messages). */
  readonly stepId: string;
  /** Staging directory for this step's outputs; renamed into the cache on success. */
  readonly outDir: string;
  /** Absolute path to write the declared file output `name` to. */
  output(name: string): string;
  /** Scratch directory, deleted after the step. */
  readonly tmpDir: string;
  /** The media backend chosen for this run. */
  readonly media: MediaBackend;
  /** Aborted when the run is interrupted; long loops must check it. */
  readonly signal: AbortSignal;
  /** Report progress: `done` of `total` units (e.g. frames). */
  progress(done: number, total?: number, unit?: string): void;
  /** Informational line (shown with --verbose, always in the NDJSON stream). */
  log(message: string): void;
  /** A warning the user should see (also recorded in the run report). */
  warn(message: string): void;
}

/** What a run function returns; file outputs are the files it wrote via `ctx.output()`. */
export interface StageResult {
  values?: Record<string, JsonValue>;
}

/** A step type. `S` is the zod schema of its `with:` parameters. */
export interface StageDef<S extends z.ZodObject = z.ZodObject> {
  /** Name used in `uses:`, e.g. "media.probe". */
  readonly type: string;
  /** Bump when outputs change for the same inputs; part of the cache key. */
  readonly version: number;
  /** One line for `dub steps`. */
  readonly description: string;
  /** Schema of the `with:` parameters: the single source of truth. */
  readonly params: S;
  /**
   * Names of parameters that hold file paths (string or string[]); the
   * runner checks they exist and hashes their content into the cache key.
   */
  readonly fileParams: readonly string[];
  /** Declared outputs, referenced as `${{ steps.<id>.outputs.<name> }}`. */
  readonly outputs: Readonly<Record<string, OutputSpec>>;
  run(ctx: StageContext, params: z.output<S>): Promise<StageResult>;
}

/** Identity function that keeps the parameter type inferred. */
export function defineStage<S extends z.ZodObject>(def: StageDef<S>): StageDef<S> {
  return def;
}
