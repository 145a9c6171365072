/**
 * The inner mouth the face mesh lacks: an upper tooth row rigid with the head, a
 * lower tooth row and a tongue that follow the jaw, and a dark cavity behind them
 * (upper half on the head, lower half on the jaw). All of it sits behind the inner
 * lip contour of the speaker's neutral mesh, so sealed lips (and the skin
 * Gaussians around them) cover it and it shows only when the lips part.
 *
 * The jaw is a rigid transform fitted per frame (Procrustes, no scale) from the
 * neutral positions of chin and lower-lip vertices to their tracked positions.
 *
 * @module
 */
import { type BoundGaussians, HEAD_FRAME, JAW_FRAME, rigidFit } from "./binding.ts";

/** Inner lip contour, subject's right corner → left corner (MediaPipe indices). */
export const UPPER_INNER_LIP = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308] as const;
export const LOWER_INNER_LIP = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308] as const;
/** Vertices that move rigidly with the jaw: chin, jaw line below the mouth, lower lip's outer rim. */
export const JAW_VERTICES = [
  152,
  148,
  176,
  149,
  150,
  136,
  377,
  400,
  378,
  379,
  365,
  175,
  199,
  200,
  18,
  83,
  313,
  17,
  84,
  314,
] as const;

/**
 * Triangles of the canonical mesh that span the mouth opening (all three vertices on
 * the inner lip contour; 18 of them). They carry no skin Gaussians: when the lips
 * part they would stretch a skin over the opening; the inner mouth shows there instead.
 */
export function mouthTriangles(triangles: Uint32Array): Set<number> {
  const lip = new Set<number>([...UPPER_INNER_LIP, ...LOWER_INNER_LIP]);
  const out = new Set<number>();
  for (let f = 0; f < triangles.length / 3; f++) {
    if (
      lip.has(triangles[f * 3]!) && lip.has(triangles[f * 3 + 1]!) && lip.has(triangles[f * 3 + 2]!)
    ) {
      out.add(f);
    }
  }
  return out;
}

/** Rigid jaw transform for a deformed mesh relative to the neutral one (both [468, 3] cm). */
export function fitJaw(
  neutralVertices: ArrayLike<number>,
  vertices: ArrayLike<number>,
): { R: Float64Array; t: Float64Array } {
  return rigidFit(neutralVertices, vertices, JAW_VERTICES);
}

/** Part labels of inner-mouth Gaussians (stored in the model beside the frame index). */
export const PART = { skin: 0, upperTeeth: 1, lowerTeeth: 2, tongue: 3, cavity: 4 } as const;

/** Where the inner mouth sits, measured on the neutral mesh (cm). */
function mouthGeometry(v: ArrayLike<number>) {
  const p = (i: number) => [v[i * 3]!, v[i * 3 + 1]!, v[i * 3 + 2]!] as const;
  const right = p(78), left = p(308);
  const mid = [0, 1, 2].map((c) => (p(13)[c]! + p(14)[c]!) / 2) as [number, number, number];
  // Lip line height and depth along the mouth: piecewise linear through the upper contour.
  const contour = UPPER_INNER_LIP.map((i) => p(i));
  return { right, left, mid, contour };
}

/** Interpolated point of the contour at parameter u ∈ [0, 1] (corner to corner). */
function along(contour: readonly (readonly number[])[], u: number): number[] {
  const x = u * (contour.length - 1);
  const i = Math.min(contour.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => contour[i]![c]! * (1 - f) + contour[i + 1]![c]! * f);
}

export interface InnerMouthOptions {
  /** Spacing of the Gaussians (cm); default 0.12. */
  spacingCm?: number;
}

/**
 * Builds the inner-mouth Gaussians from the speaker's neutral mesh ([468, 3] cm).
 * Returns them bound to the head/jaw frames (local = canonical space, size 1)
 * with their part labels.
 */
export function buildInnerMouth(
  neutralVertices: ArrayLike<number>,
  opts: InnerMouthOptions = {},
): { gaussians: BoundGaussians; part: Uint8Array } {
  const d = opts.spacingCm ?? 0.12;
  const g = mouthGeometry(neutralVertices);
  const rows: { pos: number[]; frame: number; part: number; rgb: number[]; s: number[] }[] = [];
  const width = Math.hypot(g.left[0] - g.right[0], g.left[2] - g.right[2]);
  const nu = Math.max(8, Math.round(width / d));
  // Teeth: a curved band following the lip line, 0.35 cm (upper) / 0.45 cm (lower) behind it.
  for (let a = 0; a <= nu; a++) {
    const u = 0.1 + 0.8 * (a / nu); // the teeth stop short of the mouth corners
    const c = along(g.contour, u);
    const y0 = g.mid[1];
    for (let dy = 0.25; dy >= -0.5; dy -= d) {
      rows.push({
        pos: [c[0]!, y0 + dy, c[2]! - 0.35],
        frame: HEAD_FRAME,
        part: PART.upperTeeth,
        rgb: [0.85, 0.82, 0.74],
        s: [d * 0.6, d * 0.6, d * 0.3],
      });
    }
    for (let dy = -0.45; dy >= -1.15; dy -= d) {
      rows.push({
        pos: [c[0]!, y0 + dy, c[2]! - 0.5],
        frame: JAW_FRAME,
        part: PART.lowerTeeth,
        rgb: [0.8, 0.77, 0.7],
        s: [d * 0.6, d * 0.6, d * 0.3],
      });
    }
  }
  // Tongue: a patch lying behind the lower teeth.
  for (let a = 0; a <= nu; a++) {
    const u = 0.2 + 0.6 * (a / nu);
    const c = along(g.contour, u);
    for (let dz = -0.8; dz >= -2.4; dz -= 2 * d) {
      rows.push({
        pos: [c[0]!, g.mid[1] - 0.9 + 0.15 * (dz + 0.8), g.mid[2] + dz],
        frame: JAW_FRAME,
        part: PART.tongue,
        rgb: [0.55, 0.22, 0.22],
        s: [d, d * 0.4, d],
      });
    }
  }
  // Cavity: dark sheets behind everything, spanning the mouth: one on the head
  // (lip line +0.6 … −2.6 cm) and one on the jaw, just in front of it (−0.3 … −2.4 cm),
  // so no opening of the jaw leaves a hole between them.
  for (let a = 0; a <= nu; a++) {
    const u = a / nu;
    const c = along(g.contour, u);
    for (let dy = 0.6; dy >= -2.6; dy -= 2 * d) {
      rows.push({
        pos: [c[0]!, g.mid[1] + dy, g.mid[2] - 2.7],
        frame: HEAD_FRAME,
        part: PART.cavity,
        rgb: [0.07, 0.03, 0.03],
        s: [d * 1.2, d * 1.2, d * 0.5],
      });
    }
    for (let dy = -0.3; dy >= -2.4; dy -= 2 * d) {
      rows.push({
        pos: [c[0]!, g.mid[1] + dy, g.mid[2] - 2.5],
        frame: JAW_FRAME,
        part: PART.cavity,
        rgb: [0.07, 0.03, 0.03],
        s: [d * 1.2, d * 1.2, d * 0.5],
      });
    }
  }
  const n = rows.length;
  const out: BoundGaussians = {
    count: n,
    frame: new Int32Array(n),
    offset: new Float32Array(n * 3),
    logScale: new Float32Array(n * 3),
    quat: new Float32Array(n * 4),
    opacityLogit: new Float32Array(n).fill(3),
    color: new Float32Array(n * 3),
  };
  const part = new Uint8Array(n);
  rows.forEach((r, i) => {
    out.frame[i] = r.frame;
    part[i] = r.part;
    out.offset.set(r.pos, i * 3);
    out.logScale.set(r.s.map(Math.log), i * 3);
    out.quat[i * 4] = 1;
    out.color.set(r.rgb, i * 3);
  });
  return { gaussians: out, part };
}
