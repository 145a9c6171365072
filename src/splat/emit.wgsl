// Tile binning: per-Gaussian tile counts in depth order, then instance emission.
//
// Design: the Gaussians are first sorted by depth (radix_sort.wgsl on N keys).
// `count_tiles` writes, for every depth rank r, the number of tiles its Gaussian
// touches; scan.wgsl turns these into instance offsets (and the total M, which the
// host reads back to size the instance buffers). `emit` writes one (tile id,
// Gaussian id) instance per touched tile at those offsets, so the instance list is
// already in global depth order and a stable sort on the tile id alone yields the
// reference's (tile, depth) order with far fewer sort passes.
//
// Binning: the reference's 16×16 tile rectangle (3σ) decides which pixels a
// Gaussian may touch; inside it, instances are emitted per BIN_SIZE² bin (the
// rasterizer's work unit, see _layout.ts), keyed by bin id.
// Exact bin culling: a bin of the rectangle is only emitted when some pixel
// centre of it can reach α ≥ ALPHA_MIN, i.e. when the
// minimum of dᵀ·conic·d over the tile's pixel-centre rectangle is ≤ 2·ln(o / ALPHA_MIN)
// (with a small safety margin for f32 rounding). Skipped tiles would only see
// α < ALPHA_MIN there, so the image is unchanged while elongated and faint
// Gaussians produce far fewer instances for the sort, the rasterizer and its
// backward pass.

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<storage, read> splats: array<Splat>;
@group(0) @binding(2) var<storage, read> order: array<u32>; // [N] Gaussian ids by depth
@group(0) @binding(3) var<storage, read_write> offsets: array<u32>; // [N]
@group(0) @binding(4) var<storage, read_write> inst_keys: array<u32>; // [M] tile id
@group(0) @binding(5) var<storage, read_write> inst_vals: array<u32>; // [M] Gaussian id

fn quad(s: Splat, dx: f32, dy: f32) -> f32 {
  return s.conic_a * dx * dx + 2.0 * s.conic_b * dx * dy + s.conic_c * dy * dy;
}

// Can any pixel centre of bin (bx, by) reach α ≥ ALPHA_MIN?
fn tile_hit(s: Splat, q_max: f32, tx: u32, ty: u32) -> bool {
  let x0 = f32(tx * BIN_SIZE);
  let y0 = f32(ty * BIN_SIZE);
  let last = f32(BIN_SIZE - 1u);
  // d = centre − pixel over the tile: dx ∈ [ax, bx], dy ∈ [ay, by].
  let ax = s.x - (x0 + last);
  let bx = s.x - x0;
  let ay = s.y - (y0 + last);
  let by = s.y - y0;
  if (ax <= 0.0 && bx >= 0.0 && ay <= 0.0 && by >= 0.0) { return true; }
  // Convex quadratic with its minimum outside: the minimum lies on an edge.
  var m = quad(s, ax, clamp(-s.conic_b * ax / s.conic_c, ay, by));
  m = min(m, quad(s, bx, clamp(-s.conic_b * bx / s.conic_c, ay, by)));
  m = min(m, quad(s, clamp(-s.conic_b * ay / s.conic_a, ax, bx), ay));
  m = min(m, quad(s, clamp(-s.conic_b * by / s.conic_a, ax, bx), by));
  return m <= q_max;
}

// Largest dᵀ·conic·d at which α = o·exp(−½·q) can still be ≥ ALPHA_MIN (< 0: never).
fn q_limit(s: Splat) -> f32 {
  if (s.opacity < ALPHA_MIN) { return -1.0; }
  return 2.0 * log(s.opacity / ALPHA_MIN) * 1.0001 + 1e-3;
}

fn tiles_of(s: Splat) -> u32 {
  if (s.radius <= 0) { return 0u; }
  let qm = q_limit(s);
  if (qm < 0.0) { return 0u; }
  var n = 0u;
  let r = TILE_SIZE / BIN_SIZE;
  for (var by = s.tile_y0 * r; by < min(s.tile_y1 * r, frame.bins_y); by++) {
    for (var bx = s.tile_x0 * r; bx < min(s.tile_x1 * r, frame.bins_x); bx++) {
      if (tile_hit(s, qm, bx, by)) { n++; }
    }
  }
  return n;
}

@compute @workgroup_size(WG_1D)
fn count_tiles(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= frame.n) { return; }
  offsets[r] = tiles_of(splats[order[r]]);
}

@compute @workgroup_size(WG_1D)
fn emit(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= frame.n) { return; }
  let g = order[r];
  let s = splats[g];
  if (s.radius <= 0) { return; }
  let qm = q_limit(s);
  if (qm < 0.0) { return; }
  var o = offsets[r];
  let rr = TILE_SIZE / BIN_SIZE;
  for (var by = s.tile_y0 * rr; by < min(s.tile_y1 * rr, frame.bins_y); by++) {
    for (var bx = s.tile_x0 * rr; bx < min(s.tile_x1 * rr, frame.bins_x); bx++) {
      if (!tile_hit(s, qm, bx, by)) { continue; }
      inst_keys[o] = by * frame.bins_x + bx;
      inst_vals[o] = g;
      o++;
    }
  }
}
