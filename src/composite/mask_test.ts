import assert from "node:assert/strict";
import { syntheticLandmarks } from "./_testutil.ts";
import {
  createLowerFaceMasker,
  distanceTransform,
  faceSizePx,
  forEachCoveredPixel,
  rasterScalar,
} from "./mask.ts";

// MediaPipe indices: eye contours, brows, lips, chin.
const EYES = [33, 7, 133, 159, 145, 263, 362, 386, 374, 246, 466];
const BROWS = [70, 63, 105, 66, 107, 300, 293, 334, 296, 336];
const LIPS = [0, 13, 14, 17, 61, 291, 78, 308];

Deno.test("LowerFaceMasker.mask() covers lips and chin, never eyes or brows, and scales with the face", async () => {
  const masker = await createLowerFaceMasker();
  const W = 320, H = 400;
  for (const s of [12, 20]) {
    const lm = await syntheticLandmarks(160, 130, s);
    const { mask, box } = masker.mask(lm, null, W, H);
    const at = (i: number) => mask[Math.floor(lm[i * 2 + 1]!) * W + Math.floor(lm[i * 2]!)]!;
    for (const i of LIPS) assert.equal(at(i), 255, `lip landmark ${i} at scale ${s}`);
    assert.equal(at(152), 255, "chin");
    // Eyes and brows: 0 at the landmark and in a disk of 1 cm around it.
    for (const i of [...EYES, ...BROWS]) {
      const x = lm[i * 2]!, y = lm[i * 2 + 1]!;
      for (let dy = -s; dy <= s; dy++) {
        for (let dx = -s; dx <= s; dx++) {
          if (dx * dx + dy * dy > s * s) continue;
          const X = Math.floor(x + dx), Y = Math.floor(y + dy);
          if (X >= 0 && Y >= 0 && X < W && Y < H) {
            assert.equal(mask[Y * W + X], 0, `near landmark ${i}`);
          }
        }
      }
    }
    assert.ok(
      box && box.y > lm[1 * 2 + 1]! - s * 1.5,
      "the mask starts below the nose tip's level",
    );
  }
  // Area grows with the square of the face size (feather and dilation are proportional).
  const area = async (s: number) => {
    const m = masker.mask(await syntheticLandmarks(160, 140, s), null, W, H).mask;
    return m.reduce((a, v) => a + v / 255, 0);
  };
  const ratio = (await area(20)) / (await area(10));
  assert.ok(ratio > 3.6 && ratio < 4.4, `area ratio ${ratio} for a 2× face`);
  assert.ok(Math.abs(faceSizePx(await syntheticLandmarks(0, 0, 10)) - 120) < 3);
});

Deno.test("LowerFaceMasker.mask() is the union of the old and the new lower face", async () => {
  const masker = await createLowerFaceMasker();
  const W = 300, H = 340, s = 14;
  const closed = await syntheticLandmarks(150, 120, s);
  const open = await syntheticLandmarks(150, 120, s, 2.5); // chin 2.5 cm lower
  const a = masker.mask(closed, null, W, H).mask, b = masker.mask(null, open, W, H).mask;
  const u = masker.mask(closed, open, W, H).mask;
  let onlyB = 0;
  for (let i = 0; i < u.length; i++) {
    assert.ok(u[i]! >= Math.max(a[i]!, b[i]!) - 1, `pixel ${i}`);
    if (b[i] === 255 && a[i] === 0) onlyB++;
  }
  assert.ok(onlyB > 100, `the dropped jaw adds ${onlyB} fully masked pixels`);
  // Non-finite landmarks (no face) give an empty mask.
  const empty = masker.mask(new Float32Array(936).fill(NaN), null, W, H);
  assert.equal(empty.box, null);
  assert.ok(empty.mask.every((v) => v === 0));
});

Deno.test("distanceTransform() gives exact Euclidean distances", () => {
  const w = 9, h = 7, inside = new Uint8Array(w * h);
  inside[3 * w + 4] = 1;
  const d = distanceTransform(inside, w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      assert.ok(Math.abs(d[y * w + x]! - Math.hypot(x - 4, y - 3)) < 1e-6);
    }
  }
});

Deno.test("forEachCoveredPixel() visits exactly the pixel centres inside the triangles, with their (u, v)", () => {
  // A 6×6 px square from (3, 4) to (9, 10) in two triangles, seen through a box at (1, 2).
  const lm = new Float32Array([3, 4, 9, 4, 9, 10, 3, 10]); // [4, 2] px
  const tris = new Uint32Array([0, 1, 2, 0, 2, 3]); // [2, 3]
  const box = { x: 1, y: 2, w: 12, h: 12 };
  const visits = new Uint8Array(box.w * box.h);
  forEachCoveredPixel(lm, tris, box, (i, f, u, v) => {
    visits[i]!++;
    // The barycentric point is the pixel centre (in image px).
    const at = (k: number, d: number) => lm[tris[f + k]! * 2 + d]!;
    const px = at(0, 0) + u * (at(1, 0) - at(0, 0)) + v * (at(2, 0) - at(0, 0));
    const py = at(0, 1) + u * (at(1, 1) - at(0, 1)) + v * (at(2, 1) - at(0, 1));
    assert.ok(Math.abs(px - (box.x + (i % box.w) + 0.5)) < 1e-9, `x of pixel ${i}: ${px}`);
    assert.ok(Math.abs(py - (box.y + Math.floor(i / box.w) + 0.5)) < 1e-9, `y of pixel ${i}`);
  });
  for (let y = 0; y < box.h; y++) {
    for (let x = 0; x < box.w; x++) {
      const cx = box.x + x + 0.5, cy = box.y + y + 0.5;
      const inside = cx > 3 && cx < 9 && cy > 4 && cy < 10;
      // Centres on the shared diagonal (cx − 3 = cy − 4) belong to both triangles.
      const want = inside ? (cx - 3 === cy - 4 ? 2 : 1) : 0;
      assert.equal(visits[y * box.w + x], want, `pixel (${x}, ${y})`);
    }
  }
  // rasterScalar() interpolates through it: a linear field is reproduced exactly.
  const values = new Float32Array([3 + 2 * 4, 9 + 2 * 4, 9 + 2 * 10, 3 + 2 * 10]); // x + 2y
  const field = rasterScalar(lm, tris, values, box, -1);
  assert.ok(Math.abs(field[(5 - 2) * box.w + (4 - 1)]! - (4.5 + 2 * 5.5)) < 1e-4);
  assert.equal(field[0], -1);
});
