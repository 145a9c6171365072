import assert from "node:assert/strict";
import type { Frame } from "../media/types.ts";
import {
  colorHistogram,
  histogramDistance,
  histogramSimilarity,
  SceneCutDetector,
} from "./scene.ts";

function frame(index: number, fill: (x: number, y: number) => [number, number, number]): Frame {
  const width = 64, height = 48, data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(fill(x, y), (y * width + x) * 3);
  }
  return { index, timeS: index / 25, width, height, data };
}

Deno.test("SceneCutDetector flags a change of shot but not motion within a shot", () => {
  const d = new SceneCutDetector();
  const shotA = (t: number) => frame(t, (x, y) => [(x + t) * 3 % 256, y * 4, 90]); // panning gradient
  const shotB = (t: number) => frame(t, (x) => [20, 40 + x, 200]); // bluish
  const cuts = [shotA(0), shotA(1), shotA(2), shotB(3), shotB(4), shotA(5)].map((f) => d.isCut(f));
  assert.deepEqual(cuts, [false, false, false, true, false, true]);
});

Deno.test("colorHistogram() compares regions: identical 1, disjoint colours 0", () => {
  const f = frame(0, (x) => (x < 32 ? [250, 10, 10] : [10, 10, 250]));
  const left = colorHistogram(f, [0, 0, 32, 48]), right = colorHistogram(f, [32, 0, 32, 48]);
  assert.ok(Math.abs(left.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  assert.ok(Math.abs(histogramSimilarity(left, left) - 1) < 1e-6);
  assert.equal(histogramSimilarity(left, right), 0);
  assert.equal(histogramDistance(left, right), 1);
  assert.ok(
    colorHistogram(f, [100, 100, 10, 10]).every((v) => v === 0),
    "a region outside the frame is empty",
  );
});
