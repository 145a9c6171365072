// Colour MLP backward, one invocation per Gaussian: from dL/drgb_i to dL/df_i
// (added to the feature gradient) and to the per-Gaussian factors of the weight
// gradients.
//
// Design: the forward is recomputed (no state is kept between the passes), then
// δz = g·y(1−y), δ2 = (W3ᵀδz)⊙[a2 > 0], δ1 = (W2ᵀδ2)⊙[a1 > 0]; dL/df_i = δz[0..3]
// (skip connection) + W1[:, 0..F]ᵀδ1. The weight gradients are sums over all
// Gaussians of outer products (δ1·xᵀ, δ2·h1ᵀ, δz·h2ᵀ); summing them here would need
// float atomics (CAS loops, which Mesa's GL driver deadlocks on), so each Gaussian
// writes its factors as one row of the activation buffer — [f (F), d (3), h1, δ1,
// h2, δ2 (H each), δz (3)] — and color_mlp_weight_grad.wgsl reduces them
// deterministically. A Gaussian with zero upstream gradient writes a zero row. The
// upstream gradient is read at grad_in[grad_offset + 3i ..]: the MLP's own buffer
// or the splatter's gradient buffer (colour group), so it never leaves the device.
// The math is colorMlpBackwardRef() of color_mlp.ts.

@group(0) @binding(0) var<uniform> mp: MlpParams;
@group(0) @binding(1) var<storage, read> weights: array<f32>; // [P]
@group(0) @binding(2) var<storage, read> features: array<f32>; // [N, F]
@group(0) @binding(3) var<storage, read> frame_in: array<f32>; // [C + 3]
@group(0) @binding(4) var<storage, read> dirs: array<f32>; // [N, 3]
@group(0) @binding(5) var<storage, read> grad_in: array<f32>; // dL/drgb at grad_offset, [N, 3]
@group(0) @binding(6) var<storage, read_write> grad_features: array<f32>; // [N, F], accumulated
@group(0) @binding(7) var<storage, read_write> acts: array<f32>; // [N, act_stride]

var<workgroup> base: array<f32, H>;

@compute @workgroup_size(MLP_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  if (li < H) {
    let row = OFF_W1 + li * IN;
    var s = weights[OFF_B1 + li];
    for (var k = 0u; k < C; k++) { s += weights[row + F + k] * frame_in[k]; }
    if (mp.dir_per_gaussian == 0u) {
      for (var k = 0u; k < 3u; k++) { s += weights[row + F + C + k] * frame_in[C + k]; }
    }
    base[li] = s;
  }
  workgroupBarrier();
  let i = gid.x;
  if (i >= mp.n) { return; }
  let ao = i * S;
  let g = vec3<f32>(
    grad_in[mp.grad_offset + 3u * i],
    grad_in[mp.grad_offset + 3u * i + 1u],
    grad_in[mp.grad_offset + 3u * i + 2u],
  );
  if (all(g == vec3<f32>(0.0))) {
    for (var k = 0u; k < S; k++) { acts[ao + k] = 0.0; }
    return;
  }
  // Row sections.
  let o_h1 = ao + F + 3u;
  let o_d1 = o_h1 + H;
  let o_h2 = o_d1 + H;
  let o_d2 = o_h2 + H;
  let o_dz = o_d2 + H;

  var f: array<f32, F>;
  for (var k = 0u; k < F; k++) {
    f[k] = features[i * F + k];
    acts[ao + k] = f[k];
  }
  var d = vec3<f32>(0.0);
  if (mp.dir_per_gaussian != 0u) { d = vec3<f32>(dirs[3u * i], dirs[3u * i + 1u], dirs[3u * i + 2u]); }
  acts[ao + F] = d.x;
  acts[ao + F + 1u] = d.y;
  acts[ao + F + 2u] = d.z;

  var a1: array<f32, H>;
  for (var j = 0u; j < H; j++) {
    let row = OFF_W1 + j * IN;
    var a = base[j];
    for (var k = 0u; k < F; k++) { a += weights[row + k] * f[k]; }
    if (mp.dir_per_gaussian != 0u) {
      a += dot(vec3<f32>(weights[row + F + C], weights[row + F + C + 1u], weights[row + F + C + 2u]), d);
    }
    a1[j] = a;
    acts[o_h1 + j] = max(a, 0.0);
  }
  var a2: array<f32, H>;
  for (var j = 0u; j < H; j++) {
    let row = OFF_W2 + j * H;
    var a = weights[OFF_B2 + j];
    for (var k = 0u; k < H; k++) { a += weights[row + k] * max(a1[k], 0.0); }
    a2[j] = a;
    acts[o_h2 + j] = max(a, 0.0);
  }
  var dz = vec3<f32>(0.0);
  for (var o = 0u; o < 3u; o++) {
    let row = OFF_W3 + o * H;
    var z = weights[OFF_B3 + o] + f[o];
    for (var k = 0u; k < H; k++) { z += weights[row + k] * max(a2[k], 0.0); }
    let y = 1.0 / (1.0 + exp(-z));
    dz[o] = g[o] * y * (1.0 - y);
    acts[o_dz + o] = dz[o];
  }
  // δ2, then δ1 = W2ᵀ δ2 (accumulated row by row), masked by the ReLUs.
  var d1: array<f32, H>;
  for (var k = 0u; k < H; k++) { d1[k] = 0.0; }
  for (var j = 0u; j < H; j++) {
    var dh = weights[OFF_W3 + j] * dz.x + weights[OFF_W3 + H + j] * dz.y +
      weights[OFF_W3 + 2u * H + j] * dz.z;
    if (a2[j] <= 0.0) { dh = 0.0; }
    acts[o_d2 + j] = dh;
    if (dh != 0.0) {
      let row = OFF_W2 + j * H;
      for (var k = 0u; k < H; k++) { d1[k] += dh * weights[row + k]; }
    }
  }
  var gf: array<f32, F>;
  for (var k = 0u; k < F; k++) { gf[k] = 0.0; }
  gf[0] = dz.x;
  gf[1] = dz.y;
  gf[2] = dz.z;
  for (var j = 0u; j < H; j++) {
    var dj = d1[j];
    if (a1[j] <= 0.0) { dj = 0.0; }
    acts[o_d1 + j] = dj;
    if (dj != 0.0) {
      let row = OFF_W1 + j * IN;
      for (var k = 0u; k < F; k++) { gf[k] += dj * weights[row + k]; }
    }
  }
  for (var k = 0u; k < F; k++) { grad_features[i * F + k] += gf[k]; }
}
