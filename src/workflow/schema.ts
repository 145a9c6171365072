/**
 * The workflow file's schema (version 1) — the single source of truth for what a
 * user may write. Step parameters are validated by each step type's own schema
 * (src/stages/*.ts).
 *
 * @module
 */
import { z } from "zod";

/** A declared workflow input: a plain default value, or a typed declaration. */
export const InputDecl = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.strictObject({
    type: z.enum(["file", "string", "number", "boolean"]).default("string"),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    description: z.string().optional(),
  }),
]);
export type InputDecl = z.infer<typeof InputDecl>;

export const ModelDecl = z.union([
  z.string(),
  z.strictObject({
    path: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits").optional(),
    description: z.string().optional(),
  }),
]);

export const StepDecl = z.strictObject({
  id: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, "a step id is letters, digits, _ or -"),
  uses: z.string().min(1),
  name: z.string().optional(),
  with: z.record(z.string(), z.unknown()).default({}),
});
export type StepDecl = z.infer<typeof StepDecl>;

export const OutputDecl = z.strictObject({
  /** A reference to a step's file output, e.g. `${{ steps.encode.outputs.video }}`. */
  from: z.string(),
  /** Destination; relative to the workflow file. `{stem}` is the clip's name in a batch. */
  path: z.string(),
});

export const BatchDecl = z.strictObject({
  /** A folder, or a glob like `clips/*.mp4`, relative to the workflow file. */
  clips: z.string(),
  /** The input that receives each clip (default: the first file input). */
  input: z.string().optional(),
  /**
   * How other file inputs are paired with a clip: a template per input using
   * `{dir}` (the clip's folder), `{stem}` (its name without extension) and
   * `{a,b}` alternatives. Default for every other file input without a value:
   * `{dir}/{stem}.{wav,mp3,m4a,flac,ogg,opus,aac}`.
   */
  pair: z.record(z.string(), z.string()).default({}),
  concurrency: z.number().int().min(1).max(64).default(1),
});

export const WorkflowSchema = z.strictObject({
  version: z.literal(1, { error: "only `version: 1` is supported" }),
  name: z.string().optional(),
  description: z.string().optional(),
  inputs: z.record(z.string(), InputDecl).default({}),
  models: z.record(z.string(), ModelDecl).default({}),
  batch: BatchDecl.optional(),
  steps: z.array(StepDecl).min(1, "a workflow needs at least one step"),
  outputs: z.record(z.string(), OutputDecl).default({}),
  /** Write the HTML run report (default true; `--report-html PATH` picks its page). */
  report: z.boolean().optional(),
});
export type WorkflowFile = z.infer<typeof WorkflowSchema>;
