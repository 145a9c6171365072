import assert from "node:assert/strict";
import { logMel, MEL_CONFIG, melCentersHz } from "../../audio/mel.ts";
import { breath, equalizeMel, warpMel } from "./augment.ts";
import { Rng } from "./corpus.ts";

/** 0.5 s of a harmonic-rich tone with one strong partial at `peakHz` (a "formant"). */
function formant(peakHz: number): Float32Array {
  const x = new Float32Array(8000);
  for (let i = 0; i < x.length; i++) {
    const t = i / 16000;
    let v = 0.02 * Math.sin(2 * Math.PI * 150 * t);
    v += 0.5 * Math.sin(2 * Math.PI * peakHz * t);
    x[i] = v;
  }
  return x;
}

function peakBin(mel: Float32Array, nMels: number, frame: number): number {
  let best = 0;
  for (let m = 1; m < nMels; m++) {
    if (mel[frame * nMels + m]! > mel[frame * nMels + best]!) best = m;
  }
  return best;
}

Deno.test("warpMel() is the identity at α = 1 and moves a 1 kHz peak to ≈ α·1 kHz", () => {
  const nMels = MEL_CONFIG.nMels;
  const centers = melCentersHz();
  const mel = logMel(formant(1000));
  const same = Float32Array.from(mel.data);
  warpMel(same, nMels, centers, 1);
  for (let i = 0; i < same.length; i++) assert.ok(Math.abs(same[i]! - mel.data[i]!) < 1e-5);
  for (const alpha of [0.9, 1.1]) {
    const w = Float32Array.from(mel.data);
    warpMel(w, nMels, centers, alpha);
    const hz = centers[peakBin(w, nMels, 20)]!;
    // One mel bin near 1 kHz is ≈ 60 Hz wide: the peak lands within a bin of α·1000.
    assert.ok(Math.abs(hz - alpha * 1000) < 70, `α ${alpha}: peak at ${hz.toFixed(0)} Hz`);
  }
});

Deno.test("equalizeMel() adds one bounded curve to every frame", () => {
  const nMels = MEL_CONFIG.nMels;
  const mel = logMel(formant(700));
  const eq = Float32Array.from(mel.data);
  equalizeMel(new Rng(3), eq, nMels, 6, 5);
  const curve = (t: number, m: number) => eq[t * nMels + m]! - mel.data[t * nMels + m]!;
  let maxAbs = 0;
  for (let m = 0; m < nMels; m++) {
    for (let t = 1; t < mel.frames; t++) assert.ok(Math.abs(curve(t, m) - curve(0, m)) < 1e-4);
    maxAbs = Math.max(maxAbs, Math.abs(curve(0, m)));
  }
  // Tilt ≤ 6 dB plus two bumps ≤ 5 dB each, in ln-power units.
  assert.ok(maxAbs > 0.01 && maxAbs <= (16 * Math.LN10) / 10 + 1e-6, `max |curve| ${maxAbs}`);
});

Deno.test("breath() is band-limited noise under an envelope that starts and ends silent", () => {
  const n = 8000;
  const x = breath(new Rng(11), n);
  let e = 0;
  for (const v of x) e += v * v;
  assert.ok(Math.abs(Math.sqrt(e / n) - 1) < 1e-3, "unit RMS");
  const edge = (a: number, b: number) => {
    let s = 0;
    for (let i = a; i < b; i++) s += x[i]! * x[i]!;
    return Math.sqrt(s / (b - a));
  };
  assert.ok(edge(0, 100) < 0.1 && edge(n - 100, n) < 0.1, "silent ends");
  // Little energy below 150 Hz (high-passed at ≥ 300 Hz): compare low vs mid mel bands.
  const mel = logMel(x);
  const centers = melCentersHz();
  const t = Math.floor(mel.frames / 2);
  const band = (lo: number, hi: number) => {
    let s = 0, k = 0;
    for (let m = 0; m < mel.nMels; m++) {
      if (centers[m]! >= lo && centers[m]! < hi) {
        s += Math.exp(mel.data[t * mel.nMels + m]!);
        k++;
      }
    }
    return s / k;
  };
  assert.ok(band(20, 150) < 0.1 * band(1000, 2000), "high-passed");
});
