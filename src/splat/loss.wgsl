// Photometric loss on the device: (1 − λ)·L1 + λ·(1 − SSIM), mask-weighted, and its
// gradient w.r.t. the rendered RGB — the exact counterpart of `_loss.ts`.
//
// Design: SSIM uses the separable 11-tap Gaussian window with zero padding, so
// every blur is two 1-D passes over planar f32 maps ([maps, H, W]):
//   stats_h   rendered x, target y → horizontal blurs of x, y, x², y², xy (15 planes)
//   blur_v    vertical blur of `maps` planes (also reused for the gradient planes)
//   ssim      per pixel and channel: SSIM value, L1 term, and the three partials
//             dS/dμx, dS/dE[x²], dS/dE[xy] scaled by dL/dS (9 planes); per-pixel
//             partial sums of the two loss terms
//   blur_h    horizontal blur of `maps` planes
//   combine   dL/dx = L1 term + blur(dμ) + 2x·blur(dXX) + y·blur(dXY) (the window is
//             symmetric, so the adjoint of the blur is the blur itself)
//   reduce    one workgroup sums the per-pixel partials (no float atomics needed);
//             the host reads two floats back to report the loss.
// λ = 0 skips every SSIM pass.

@group(0) @binding(0) var<uniform> lp: LossParams;
@group(0) @binding(1) var<storage, read> rendered: array<f32>; // [H, W, 3]
@group(0) @binding(2) var<storage, read> target_rgb: array<f32>; // [H, W, 3]
@group(0) @binding(3) var<storage, read> mask: array<f32>; // [H, W] (or [1] when absent)
@group(0) @binding(4) var<storage, read_write> plane_a: array<f32>; // [15, H, W]
@group(0) @binding(5) var<storage, read_write> plane_b: array<f32>; // [15, H, W]
@group(0) @binding(6) var<storage, read_write> partial: array<f32>; // [H·W, 2] then [2] sums
@group(0) @binding(7) var<storage, read_write> d_rgb: array<f32>; // [H, W, 3]

fn mask_at(p: u32) -> f32 {
  if (lp.has_mask != 0u) { return mask[p]; }
  return 1.0;
}

@compute @workgroup_size(WG_1D)
fn stats_h(@builtin(global_invocation_id) gid: vec3<u32>) {
  let np = lp.width * lp.height;
  let p = gid.x;
  if (p >= np) { return; }
  let x = i32(p % lp.width);
  let row = p - u32(x);
  for (var c = 0u; c < 3u; c++) {
    var s = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
    for (var k = -SSIM_HALF; k <= SSIM_HALF; k++) {
      let xx = x + k;
      if (xx < 0 || xx >= i32(lp.width)) { continue; }
      let q = 3u * (row + u32(xx)) + c;
      let a = rendered[q];
      let b = target_rgb[q];
      let w = SSIM_WINDOW[k + SSIM_HALF];
      s[0] += w * a;
      s[1] += w * b;
      s[2] += w * a * a;
      s[3] += w * b * b;
      s[4] += w * a * b;
    }
    for (var m = 0u; m < 5u; m++) { plane_a[(5u * c + m) * np + p] = s[m]; }
  }
}

@compute @workgroup_size(WG_1D)
fn blur_v(@builtin(global_invocation_id) gid: vec3<u32>) {
  let np = lp.width * lp.height;
  let p = gid.x;
  if (p >= np) { return; }
  let y = i32(p / lp.width);
  let x = p % lp.width;
  for (var m = 0u; m < lp.maps; m++) {
    var s = 0.0;
    for (var k = -SSIM_HALF; k <= SSIM_HALF; k++) {
      let yy = y + k;
      if (yy < 0 || yy >= i32(lp.height)) { continue; }
      s += SSIM_WINDOW[k + SSIM_HALF] * plane_a[m * np + u32(yy) * lp.width + x];
    }
    plane_b[m * np + p] = s;
  }
}

@compute @workgroup_size(WG_1D)
fn blur_h(@builtin(global_invocation_id) gid: vec3<u32>) {
  let np = lp.width * lp.height;
  let p = gid.x;
  if (p >= np) { return; }
  let x = i32(p % lp.width);
  let row = p - u32(x);
  for (var m = 0u; m < lp.maps; m++) {
    var s = 0.0;
    for (var k = -SSIM_HALF; k <= SSIM_HALF; k++) {
      let xx = x + k;
      if (xx < 0 || xx >= i32(lp.width)) { continue; }
      s += SSIM_WINDOW[k + SSIM_HALF] * plane_b[m * np + row + u32(xx)];
    }
    plane_a[m * np + p] = s;
  }
}

// Reads the blurred statistics from plane_b, writes the 9 gradient planes to plane_b
// (same pixel, after reading) and the per-pixel loss partials.
@compute @workgroup_size(WG_1D)
fn ssim(@builtin(global_invocation_id) gid: vec3<u32>) {
  let np = lp.width * lp.height;
  let p = gid.x;
  if (p >= np) { return; }
  let m = mask_at(p);
  let lam = lp.ssim_weight;
  var l1 = 0.0;
  var ss = 0.0;
  var g: array<f32, 9>;
  for (var c = 0u; c < 3u; c++) {
    let d = rendered[3u * p + c] - target_rgb[3u * p + c];
    l1 += m * abs(d);
    if (lam > 0.0) {
      let ux = plane_b[(5u * c) * np + p];
      let uy = plane_b[(5u * c + 1u) * np + p];
      let sxx = plane_b[(5u * c + 2u) * np + p];
      let syy = plane_b[(5u * c + 3u) * np + p];
      let sxy = plane_b[(5u * c + 4u) * np + p];
      let a1 = 2.0 * ux * uy + SSIM_C1;
      let a2 = 2.0 * (sxy - ux * uy) + SSIM_C2;
      let b1 = ux * ux + uy * uy + SSIM_C1;
      let b2 = sxx - ux * ux + syy - uy * uy + SSIM_C2;
      let den = b1 * b2;
      let s = (a1 * a2) / den;
      ss += m * s;
      let k = -lam * m * lp.inv_norm;
      g[3u * c] = k * ((2.0 * uy * (a2 - a1)) / den - (s * 2.0 * ux * (b2 - b1)) / den);
      g[3u * c + 1u] = k * (-s / b2);
      g[3u * c + 2u] = k * ((2.0 * a1) / den);
    }
  }
  if (lam > 0.0) {
    for (var j = 0u; j < 9u; j++) { plane_b[j * np + p] = g[j]; }
  }
  partial[2u * p] = l1;
  partial[2u * p + 1u] = ss;
}

// Gradient planes were blurred back into plane_b by blur_h + blur_v.
@compute @workgroup_size(WG_1D)
fn combine(@builtin(global_invocation_id) gid: vec3<u32>) {
  let np = lp.width * lp.height;
  let p = gid.x;
  if (p >= np) { return; }
  let m = mask_at(p);
  let lam = lp.ssim_weight;
  for (var c = 0u; c < 3u; c++) {
    let x = rendered[3u * p + c];
    let y = target_rgb[3u * p + c];
    var g = (1.0 - lam) * lp.inv_norm * m * sign(x - y);
    if (lam > 0.0) {
      g += plane_b[(3u * c) * np + p] + 2.0 * x * plane_b[(3u * c + 1u) * np + p] +
        y * plane_b[(3u * c + 2u) * np + p];
    }
    d_rgb[3u * p + c] = g;
  }
}

var<workgroup> red: array<vec2<f32>, REDUCE_THREADS>;

@compute @workgroup_size(REDUCE_THREADS)
fn reduce(@builtin(local_invocation_index) t: u32) {
  let np = lp.width * lp.height;
  let chunk = (np + REDUCE_THREADS - 1u) / REDUCE_THREADS;
  var s = vec2<f32>(0.0);
  for (var i = t * chunk; i < min(np, (t + 1u) * chunk); i++) {
    s += vec2<f32>(partial[2u * i], partial[2u * i + 1u]);
  }
  red[t] = s;
  for (var d = REDUCE_THREADS / 2u; d > 0u; d = d >> 1u) {
    workgroupBarrier();
    if (t < d) { red[t] += red[t + d]; }
  }
  workgroupBarrier();
  if (t == 0u) {
    partial[2u * np] = red[0].x;
    partial[2u * np + 1u] = red[0].y;
  }
}
