/**
 * The registry of step types. Adding a step type = one file in this folder plus
 * one line here.
 *
 * @module
 */
import type { StageDef } from "../workflow/stage.ts";

// deno-lint-ignore no-explicit-any
export const STAGES: readonly StageDef<any>[] = [
];

/** Look up a step type by its `uses:` name. */
// deno-lint-ignore no-explicit-any
export function findStage(type: string): StageDef<any> | undefined {
  return STAGES.find((s) => s.type === type);
}
