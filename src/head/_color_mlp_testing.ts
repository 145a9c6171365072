/** Helpers shared by the colour-MLP tests. */
import type { DensifyPlan } from "../splat/densify.ts";

/** A densify plan taking rows `source` (fresh = new rows with zero Adam moments). */
export function plan(source: number[], fresh: number[]): DensifyPlan {
  const m = source.length;
  return {
    count: m,
    source: Int32Array.from(source),
    fresh: Uint8Array.from(fresh),
    split: new Uint8Array(m),
    noise: new Float32Array(3 * m),
    counts: { cloned: 0, split: 0, pruned: 0 },
  };
}
