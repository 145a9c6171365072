import assert from "node:assert/strict";
import { logMel, MEL_CONFIG, melCentersHz, melFrameCount } from "./mel.ts";

function sine(freqHz: number, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = 0.5 * Math.sin((2 * Math.PI * freqHz * i) / MEL_CONFIG.sampleRateHz);
  }
  return x;
}

Deno.test("logMel() puts a sine's energy in the mel bin whose centre is nearest its frequency", () => {
  const centres = melCentersHz();
  for (const f of [300, 1000, 2500, 5000]) {
    const { data, frames, nMels } = logMel(sine(f, 16000));
    assert.equal(frames, melFrameCount(16000));
    const t = Math.floor(frames / 2);
    let best = 0;
    for (let m = 1; m < nMels; m++) {
      if (data[t * nMels + m]! > data[t * nMels + best]!) best = m;
    }
    let nearest = 0;
    for (let m = 1; m < nMels; m++) {
      if (Math.abs(centres[m]! - f) < Math.abs(centres[nearest]! - f)) {
        nearest = m;
      }
    }
    assert.ok(
      Math.abs(best - nearest) <= 1,
      `${f} Hz: peak bin ${best}, nearest centre bin ${nearest}`,
    );
    // Far bins are far below the peak (≥ 8 nats ≈ 35 dB).
    const far = nearest > 40 ? 5 : 75;
    assert.ok(data[t * nMels + best]! - data[t * nMels + far]! > 8);
  }
});

Deno.test("logMel() gives 100 frames per second and the floor for silence", () => {
  const { data, frames } = logMel(new Float32Array(32000));
  assert.equal(frames, 201);
  for (const v of data) {
    assert.ok(Math.abs(v - Math.log(MEL_CONFIG.logFloor)) < 1e-4);
  }
});

Deno.test("logMel() scales with power: +6 dB gain adds ln(4) to every bin", () => {
  const a = logMel(sine(1000, 8000));
  const x = sine(1000, 8000).map((v) => 2 * v);
  const b = logMel(x);
  const peak = a.data.subarray(40 * a.nMels, 41 * a.nMels).reduce(
    (p, v, i, arr) => (v > arr[p]! ? i : p),
    0,
  );
  const i = 40 * a.nMels + peak;
  assert.ok(
    Math.abs(b.data[i]! - a.data[i]! - Math.log(4)) < 1e-3,
    `bin ${peak}`,
  );
});
