/**
 * The step registry handed to the loader, planner and runner (and the worker):
 * `src/workflow/` knows the step contract, never the concrete steps. The CLI
 * passes the built-in registry of `src/stages/mod.ts`; tests may pass their own.
 *
 * @module
 */
import type { StageDef } from "./stage.ts";

export interface StageRegistry {
  // deno-lint-ignore no-explicit-any
  readonly stages: readonly StageDef<any>[];
  /** The step type named in `uses:`, or undefined. */
  // deno-lint-ignore no-explicit-any
  find(type: string): StageDef<any> | undefined;
}

/** A registry over a list of step types (the first of a name wins). */
// deno-lint-ignore no-explicit-any
export function stageRegistry(stages: readonly StageDef<any>[]): StageRegistry {
  const byType = new Map(stages.map((s) => [s.type, s] as const));
  return { stages, find: (type) => byType.get(type) };
}
