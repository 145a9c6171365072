import assert from "node:assert/strict";
import { loadCanonicalMesh } from "../track/canonical_mesh.ts";
import { channelIndex } from "./mod.ts";
import {
  articulationFromGeometry,
  blinkFromGeometry,
  estimateNeutral,
  LANDMARK,
  measureGeometry,
  neutralOf,
} from "./measure.ts";

const ch = (a: Float32Array, name: string) => a[channelIndex(name)]!;

Deno.test("articulationFromGeometry() reads a closed neutral mouth as neutral", async () => {
  const { vertices } = await loadCanonicalMesh();
  const n = neutralOf(vertices);
  const a = articulationFromGeometry(measureGeometry(vertices), n);
  for (
    const name of [
      "jaw_open",
      "lip_aperture",
      "mouth_width",
      "lip_protrusion",
      "teeth_visible",
      "labiodental",
    ]
  ) {
    assert.ok(Math.abs(ch(a, name)) < 1e-6, `${name} = ${ch(a, name)}`);
  }
  assert.equal(ch(a, "bilabial_closure"), 1);
  assert.deepEqual(blinkFromGeometry(measureGeometry(vertices), n), [0, 0]);
});

Deno.test("articulationFromGeometry() measures a dropped jaw, spread corners and protruded lips", async () => {
  const { vertices } = await loadCanonicalMesh();
  const n = neutralOf(vertices);
  const lowerLipY = vertices[LANDMARK.lowerLipInner * 3 + 1]!;
  // Open: everything at or below the lower inner lip, near the midline, drops 1.2 cm.
  const open = Float32Array.from(vertices);
  for (let i = 0; i < 468; i++) {
    if (open[i * 3 + 1]! <= lowerLipY + 1e-6 && Math.abs(open[i * 3]!) < 4) open[i * 3 + 1]! -= 1.2;
  }
  const a = articulationFromGeometry(measureGeometry(open), n);
  assert.ok(Math.abs(ch(a, "lip_aperture") - 0.6) < 0.05, `lip_aperture ${ch(a, "lip_aperture")}`);
  assert.ok(Math.abs(ch(a, "jaw_open") - 1.2 / 2.5) < 0.05, `jaw_open ${ch(a, "jaw_open")}`);
  assert.equal(ch(a, "bilabial_closure"), 0);
  assert.ok(ch(a, "teeth_visible") > 0.5);
  // Spread: corners 0.5 cm further out each.
  const spread = Float32Array.from(vertices);
  spread[LANDMARK.mouthCornerLeft * 3]! += 0.5;
  spread[LANDMARK.mouthCornerRight * 3]! -= 0.5;
  const w = ch(articulationFromGeometry(measureGeometry(spread), n), "mouth_width");
  assert.ok(Math.abs(w - 1 / (0.3 * n.mouthWidthCm)) < 0.02, `mouth_width ${w}`);
  // Protrude: the lip midline moves 0.4 cm forward.
  const pro = Float32Array.from(vertices);
  for (
    const i of [
      LANDMARK.upperLipOuter,
      LANDMARK.upperLipInner,
      LANDMARK.lowerLipInner,
      LANDMARK.lowerLipOuter,
    ]
  ) {
    pro[i * 3 + 2]! += 0.4;
  }
  assert.ok(
    Math.abs(ch(articulationFromGeometry(measureGeometry(pro), n), "lip_protrusion") - 0.5) < 0.01,
  );
});

Deno.test("blinkFromGeometry() closes one eye only", async () => {
  const { vertices } = await loadCanonicalMesh();
  const shut = Float32Array.from(vertices);
  for (let k = 0; k < 3; k++) {
    shut[LANDMARK.rightEyeUpper * 3 + k] = vertices[LANDMARK.rightEyeLower * 3 + k]!;
  }
  const [right, left] = blinkFromGeometry(measureGeometry(shut), neutralOf(vertices));
  assert.ok(right > 0.95 && left === 0, `blink ${right}, ${left}`);
});

Deno.test("estimateNeutral() takes the closed mouth from a talking sequence and falls back when short", async () => {
  const { vertices } = await loadCanonicalMesh();
  const base = measureGeometry(vertices);
  const samples = Array.from({ length: 100 }, (_, t) => ({
    ...base,
    lipGapCm: 0.2 + (t % 10 === 0 ? 0 : 0.5 + 0.5 * Math.sin(t)),
  }));
  const n = estimateNeutral(samples, neutralOf(vertices));
  assert.ok(Math.abs(n.lipGapCm - 0.2) < 1e-6, `neutral gap ${n.lipGapCm}`);
  const fallback = neutralOf(vertices);
  assert.equal(estimateNeutral(samples.slice(0, 5), fallback), fallback);
  assert.throws(() => measureGeometry(new Float32Array(10)), RangeError);
});
