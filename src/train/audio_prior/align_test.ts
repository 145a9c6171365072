import assert from "node:assert/strict";
import { dtwMap } from "./align.ts";

Deno.test("dtwMap() recovers a known time warp", () => {
  // b is a played 1.5× slower, with a pause inserted: b(j) = a(w(j)).
  const n = 3;
  const feat = (t: number) => [Math.sin(t / 5), Math.cos(t / 7), Math.sin(t / 3 + 1)];
  const ta = 120;
  const a = new Float32Array(ta * n);
  for (let i = 0; i < ta; i++) a.set(feat(i), i * n);
  const warp: number[] = [];
  for (let j = 0; j < 60; j++) warp.push(j / 1.5); // a[0..40) slowed
  for (let j = 0; j < 20; j++) warp.push(40); // a pause holding a[40]
  for (let i = 40; i < ta; i++) warp.push(i);
  const b = new Float32Array(warp.length * n);
  warp.forEach((w, j) => b.set(feat(w), j * n));
  const map = dtwMap(a, b, n);
  // a[20] ↔ b[30]; a[80] ↔ b[80 + 40] (after the 20 slowed + 20 pause frames).
  assert.ok(Math.abs(map[20]! - 30) <= 1.5, `a[20] → ${map[20]}`);
  assert.ok(Math.abs(map[80]! - 120) <= 1.5, `a[80] → ${map[80]}`);
});
