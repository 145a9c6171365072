import assert from "node:assert/strict";
import { resample } from "./resample.ts";

function sine(freqHz: number, rateHz: number, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = Math.sin((2 * Math.PI * freqHz * i) / rateHz);
  }
  return x;
}

function rms(x: Float32Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! ** 2;
  return Math.sqrt(s / (to - from));
}

Deno.test("resample() reproduces an in-band sine at the new rate (44.1 kHz → 16 kHz)", () => {
  const y = resample(sine(1000, 44100, 44100), 44100, 16000);
  assert.equal(y.length, 16000);
  const ref = sine(1000, 16000, 16000);
  let maxErr = 0;
  for (let i = 1000; i < 15000; i++) {
    maxErr = Math.max(maxErr, Math.abs(y[i]! - ref[i]!));
  }
  assert.ok(maxErr < 2e-3, `max error ${maxErr}`);
});

Deno.test("resample() suppresses content above the new Nyquist (no aliasing)", () => {
  // 10 kHz at 44.1 kHz would alias to 6 kHz at 16 kHz without the low-pass.
  const y = resample(sine(10000, 44100, 44100), 44100, 16000);
  assert.ok(rms(y, 1000, 15000) < 1e-3, `alias rms ${rms(y, 1000, 15000)}`);
});

Deno.test("resample() upsamples 22.05 kHz → 16 kHz and 8 kHz → 16 kHz without drift", () => {
  for (const from of [22050, 8000, 11025, 48000]) {
    const n = from * 3;
    const y = resample(sine(440, from, n), from, 16000);
    assert.equal(y.length, Math.ceil((n * 16000) / from));
    const ref = sine(440, 16000, y.length);
    // The end of a 3 s signal is as well aligned as the start: no accumulated drift.
    let maxErr = 0;
    for (let i = 2000; i < y.length - 2000; i++) {
      maxErr = Math.max(maxErr, Math.abs(y[i]! - ref[i]!));
    }
    assert.ok(maxErr < 2e-3, `from ${from}: max error ${maxErr}`);
  }
});

Deno.test("resample() rejects a non-integer rate", () => {
  assert.throws(
    () => resample(new Float32Array(4), 44100.5, 16000),
    /Invalid input sample rate 44100.5/,
  );
});
