// Shared helpers of the rasterizer passes (forward and backward): the per-Gaussian
// bounds that let both skip pixels the α test would reject anyway. Appended after
// the generated prelude.

// Below this exponent α = o·exp(power) is surely < ALPHA_MIN (conservative by a
// relative 1e-4 so f32 rounding can never reject a pixel the exact test accepts).
fn power_floor(o: f32) -> f32 {
  if (o < ALPHA_MIN) { return 0.0; }
  let l = log(ALPHA_MIN / o);
  return l * 1.0001 - 1e-4;
}

// Padded half-extents of the ellipse where α = o·exp(−½·dᵀ·conic·d) ≥ ALPHA_MIN.
fn alpha_extent(a: f32, b: f32, c: f32, o: f32) -> vec2<f32> {
  if (o < ALPHA_MIN) { return vec2<f32>(-1.0); }
  let q = 2.0 * log(o / ALPHA_MIN) * 1.001 + 1e-3;
  let det = a * c - b * b;
  return sqrt(q * vec2<f32>(c, a) / det) * 1.001 + 1e-2;
}
