import assert from "node:assert/strict";
import { CpuBackend } from "../splat/mod.ts";
import { loadCanonicalMesh } from "../track/canonical_mesh.ts";
import { quatToMatrix } from "../track/pose.ts";
import { fitJaw, LOWER_INNER_LIP, PART } from "./inner_mouth.ts";
import { renderHead } from "./render.ts";
import { frontal, sealedLips, tinyModel } from "./_synthetic.ts";

const mesh = await loadCanonicalMesh();

/** Expression offsets (from sealed lips) that open the jaw by `deg` about an axis below the ears. */
function openJaw(deg: number): Float32Array {
  const sealed = sealedLips();
  const v = Float32Array.from(mesh.vertices, (x, i) => x + sealed[i]!);
  const lipY = (v[13 * 3 + 1]! + v[14 * 3 + 1]!) / 2;
  const pivot = [0, lipY + 1.5, v[14 * 3 + 2]! - 8]; // ≈ the jaw joint, behind and above
  const th = (deg * Math.PI) / 180;
  const R = quatToMatrix(Math.cos(th / 2), Math.sin(th / 2), 0, 0); // about x: chin moves down
  const off = new Float32Array(468 * 3);
  for (let i = 0; i < 468; i++) {
    const lowerLip = LOWER_INNER_LIP.includes(i as never) && i !== 78 && i !== 308;
    if (v[i * 3 + 1]! >= lipY - 0.02 && !lowerLip) continue;
    if (Math.abs(v[i * 3]!) > 7) continue; // jaw line only, not the ears
    const p = [0, 1, 2].map((c) => v[i * 3 + c]! - pivot[c]!);
    for (let c = 0; c < 3; c++) {
      const q = R[c * 3]! * p[0]! + R[c * 3 + 1]! * p[1]! + R[c * 3 + 2]! * p[2]! + pivot[c]!;
      off[i * 3 + c] = q - v[i * 3 + c]!;
    }
  }
  return off.map((x, i) => x + sealed[i]!);
}

/** Pixels where the (pure green) inner mouth shows through, and holes (no coverage) among them. */
async function greenPixels(expression: Float32Array): Promise<{ green: number; holes: number }> {
  const m = tinyModel(3);
  // Inner mouth pure green, skin grey.
  for (let i = 0; i < m.gaussians.count; i++) {
    m.gaussians.color.set(m.part[i] === PART.skin ? [0.5, 0.5, 0.5] : [0, 1, 0], i * 3);
  }
  using be = new CpuBackend();
  const W = 200;
  const out = await renderHead(be, m, frontal(expression), { width: W, height: 220 });
  let green = 0, x0 = W, x1 = -1, y0 = 220, y1 = -1;
  for (let i = 0; i < out.alpha.length; i++) {
    const r = out.rgb[i * 3]!, g = out.rgb[i * 3 + 1]!, b = out.rgb[i * 3 + 2]!;
    if (g > r + 0.25 && g > b + 0.25) {
      green++;
      const x = i % W, y = Math.floor(i / W);
      x0 = Math.min(x0, x), x1 = Math.max(x1, x), y0 = Math.min(y0, y), y1 = Math.max(y1, y);
    }
  }
  // Inside the box of the green pixels every pixel must be covered (cavity behind the teeth).
  let holes = 0;
  for (let y = y0 + 1; y < y1; y++) {
    for (let x = x0 + 1; x < x1; x++) if (out.alpha[y * W + x]! < 0.9) holes++;
  }
  return { green, holes };
}

Deno.test("inner mouth: hidden behind sealed lips, visible when the jaw opens", async () => {
  const sealed = await greenPixels(sealedLips());
  // At 10 px/cm a 12° jaw opening parts the lips by ≈ 1.6 cm over a ≈ 4 cm mouth: hundreds
  // of pixels. Sealed, nothing may show (a few edge pixels would already be a leak).
  assert.equal(sealed.green, 0, `inner mouth shows through sealed lips (${sealed.green} px)`);
  for (const deg of [6, 12, 20]) {
    const open = await greenPixels(openJaw(deg));
    assert.ok(
      open.green > 10 * deg,
      `${deg}°: inner mouth hidden with an open jaw (${open.green} px)`,
    );
    assert.equal(open.holes, 0, `${deg}°: the open mouth has uncovered pixels`);
  }
});

Deno.test("fitJaw() follows a jaw opening and is the identity on the neutral mesh", () => {
  const id = fitJaw(mesh.vertices, mesh.vertices);
  const sealed = sealedLips();
  for (let k = 0; k < 9; k++) assert.ok(Math.abs(id.R[k]! - (k % 4 === 0 ? 1 : 0)) < 1e-9);
  const off = openJaw(12);
  const moved = Float32Array.from(mesh.vertices, (x, i) => x + off[i]!);
  const jaw = fitJaw(Float32Array.from(mesh.vertices, (x, i) => x + sealed[i]!), moved);
  // Rotation angle of the fit ≈ 12° (the jaw vertices moved rigidly by exactly that).
  const angle = (Math.acos(Math.min(1, (jaw.R[0]! + jaw.R[4]! + jaw.R[8]! - 1) / 2)) * 180) /
    Math.PI;
  assert.ok(Math.abs(angle - 12) < 0.5, `jaw angle ${angle}`);
});
