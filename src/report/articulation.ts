/**
 * Report helpers shared by stages that produce or measure articulation tracks
 * (`[F, C]`, channels of `src/articulation/mod.ts`).
 *
 * @module
 */
import { ARTICULATION_DIM, ARTICULATION_NAMES } from "../articulation/mod.ts";
import type { StageReport } from "../workflow/stage.ts";

/** Declare an articulation track `[frames, C]` as a series over time (seconds). */
export function reportArticulation(
  report: StageReport,
  name: string,
  a: {
    title: string;
    articulation: Float32Array;
    frames: number;
    /** Time of row 0 (s). */
    startS: number;
    fps: number;
    plot?: string;
    order?: number;
  },
): void {
  if (a.articulation.length !== a.frames * ARTICULATION_DIM) {
    throw new RangeError(
      `Articulation has ${a.articulation.length} values, expected ${a.frames} × ${ARTICULATION_DIM}`,
    );
  }
  const channels: Record<string, Float32Array> = {};
  ARTICULATION_NAMES.forEach((n, c) => {
    const ch = new Float32Array(a.frames);
    for (let i = 0; i < a.frames; i++) ch[i] = a.articulation[i * ARTICULATION_DIM + c]!;
    channels[n] = ch;
  });
  report.series(name, {
    title: a.title,
    x: { unit: "s", start: a.startS, step: 1 / a.fps },
    channels,
    yLabel: "articulation",
    ...(a.plot !== undefined ? { plot: a.plot } : {}),
    ...(a.order !== undefined ? { order: a.order } : {}),
  });
}
