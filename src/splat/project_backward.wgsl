// Backward of the projection pass, one invocation per Gaussian: the 2D gradients
// summed by rasterize_backward.wgsl (centre, conic, opacity, colour) become
// gradients of the scene parameters, written in the parameter buffer's layout so
// Adam can consume them directly.
//
// Design: everything the forward computed is recomputed from the parameters (no
// per-Gaussian 3D state is stored between the passes). The math is
// `preprocessBackward()` of _cpu_raster.ts term by term, in f32: conic → 2D
// covariance (inverse), 2D covariance → Σ and the camera-space mean through the
// clamped Jacobian (exact, incl. the clamp's dependence on z), Σ → log-scales and
// the quaternion through its normalisation, SH colour → coefficients (zero where
// clamped) and → mean through the view direction, sigmoid for the opacity. Culled
// Gaussians write zeros, so the gradient buffer needs no clearing. With
// `accumulate_stats` the view-space gradient norm |dL/dmean2d| (pixels) and a
// visibility count are added to the densification statistics.

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> splats: array<Splat>;
@group(0) @binding(3) var<storage, read> grads2d: array<f32>; // [N, GRAD2D_STRIDE]
@group(0) @binding(4) var<storage, read_write> grads: array<f32>; // parameter layout
@group(0) @binding(5) var<storage, read_write> mean2d_abs: array<f32>; // [N]
@group(0) @binding(6) var<storage, read_write> stats: array<f32>; // [N, 2] Σ|dL/dmean2d|, views

@compute @workgroup_size(WG_1D)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= frame.n) { return; }
  let mo = frame.off_means + 3u * i;
  let so = frame.off_scales + 3u * i;
  let qo = frame.off_quats + 4u * i;
  let oo = frame.off_opacity + i;
  let co = frame.off_colors + frame.color_stride * i;
  let sp = splats[i];
  if (sp.radius <= 0) {
    for (var k = 0u; k < 3u; k++) { grads[mo + k] = 0.0; grads[so + k] = 0.0; }
    for (var k = 0u; k < 4u; k++) { grads[qo + k] = 0.0; }
    grads[oo] = 0.0;
    for (var k = 0u; k < frame.color_stride; k++) { grads[co + k] = 0.0; }
    mean2d_abs[i] = 0.0;
    return;
  }
  let g2 = i * GRAD2D_STRIDE;
  let gx = grads2d[g2];
  let gy = grads2d[g2 + 1u];
  let g_conic = vec3<f32>(grads2d[g2 + 2u], grads2d[g2 + 3u], grads2d[g2 + 4u]);
  let g_op = grads2d[g2 + 5u];
  let g_rgb = vec3<f32>(grads2d[g2 + 6u], grads2d[g2 + 7u], grads2d[g2 + 8u]);
  let gabs = sqrt(gx * gx + gy * gy);
  mean2d_abs[i] = gabs;
  if (frame.accumulate_stats != 0u) {
    stats[2u * i] += gabs;
    stats[2u * i + 1u] += 1.0;
  }

  let m = vec3<f32>(params[mo], params[mo + 1u], params[mo + 2u]);
  let Rr0 = vec3<f32>(frame.r00, frame.r01, frame.r02); // rows of the world-to-camera R
  let Rr1 = vec3<f32>(frame.r10, frame.r11, frame.r12);
  let Rr2 = vec3<f32>(frame.r20, frame.r21, frame.r22);
  let tx = dot(Rr0, m) + frame.t0;
  let ty = dot(Rr1, m) + frame.t1;
  let tz = dot(Rr2, m) + frame.t2;

  // Opacity.
  let o = sp.opacity;
  grads[oo] = g_op * o * (1.0 - o);

  // Colour.
  var d_mean_dir = vec3<f32>(0.0);
  if (frame.color_mode == 0u) {
    let raw = sh_dir_raw(m);
    var len = 1.0;
    if (frame.ortho == 0u) { len = length(raw); }
    let dir = raw / len;
    var basis: array<f32, 16>;
    sh_basis(frame.sh_degree, dir, &basis);
    let gc = select(g_rgb, vec3<f32>(0.0), vec3<bool>((sp.clamped & 1u) != 0u, (sp.clamped & 2u) != 0u, (sp.clamped & 4u) != 0u));
    let K = (frame.sh_degree + 1u) * (frame.sh_degree + 1u);
    for (var k = 0u; k < K; k++) {
      grads[co + 3u * k] = basis[k] * gc.x;
      grads[co + 3u * k + 1u] = basis[k] * gc.y;
      grads[co + 3u * k + 2u] = basis[k] * gc.z;
    }
    if (frame.sh_degree > 0u && frame.ortho == 0u) {
      var dd = vec3<f32>(0.0);
      for (var k = 1u; k < K; k++) {
        let sh = vec3<f32>(params[co + 3u * k], params[co + 3u * k + 1u], params[co + 3u * k + 2u]);
        dd += dot(sh, gc) * sh_basis_grad(k, dir);
      }
      d_mean_dir = (dd - dir * dot(dd, dir)) / len;
    }
  } else {
    grads[co] = g_rgb.x;
    grads[co + 1u] = g_rgb.y;
    grads[co + 2u] = g_rgb.z;
  }

  // Recompute Σ (M = R(q)·S) and the 2D covariance.
  let qraw = vec4<f32>(params[qo], params[qo + 1u], params[qo + 2u], params[qo + 3u]);
  var qn = length(qraw);
  if (qn == 0.0) { qn = 1.0; }
  let q = qraw / qn;
  let rot = quat_to_rotmat(q); // columns
  let sc = exp(vec3<f32>(params[so], params[so + 1u], params[so + 2u]));
  let M = mat3x3<f32>(rot[0] * sc.x, rot[1] * sc.y, rot[2] * sc.z);
  let sigma = M * transpose(M);
  var j00 = frame.fx;
  var j11 = frame.fy;
  var j02 = 0.0;
  var j12 = 0.0;
  let iz = 1.0 / tz;
  var xc = 0.0;
  var yc = 0.0;
  var in_x = 0.0;
  var in_y = 0.0;
  if (frame.ortho == 0u) {
    let rx = tx * iz;
    let ry = ty * iz;
    in_x = select(0.0, 1.0, rx >= -frame.lim_x && rx <= frame.lim_x);
    in_y = select(0.0, 1.0, ry >= -frame.lim_y && ry <= frame.lim_y);
    xc = min(frame.lim_x, max(-frame.lim_x, rx));
    yc = min(frame.lim_y, max(-frame.lim_y, ry));
    j00 = frame.fx * iz;
    j11 = frame.fy * iz;
    j02 = -frame.fx * xc * iz;
    j12 = -frame.fy * yc * iz;
  }
  let T0 = j00 * Rr0 + j02 * Rr2;
  let T1 = j11 * Rr1 + j12 * Rr2;
  let u = sigma * T0;
  let w = sigma * T1;
  let a = dot(T0, u) + COV2D_DILATION;
  let b = dot(T0, w);
  let c = dot(T1, w) + COV2D_DILATION;

  // Conic (c, −b, a)/det → 2D covariance.
  let det = a * c - b * b;
  let idet = 1.0 / det;
  let i2 = idet * idet;
  let dA = g_conic.x;
  let dB = g_conic.y;
  let dC = g_conic.z;
  let da = dA * (-c * c * i2) + dB * (b * c * i2) + dC * (-a * c * i2 + idet);
  let db = dA * (2.0 * b * c * i2) + dB * (-idet - 2.0 * b * b * i2) + dC * (2.0 * a * b * i2);
  let dc = dA * (idet - a * c * i2) + dB * (a * b * i2) + dC * (-a * a * i2);

  // 2D covariance → Σ (symmetric matrix of partials, G2 = [[da, db/2], [db/2, dc]]).
  let g00 = da;
  let g01 = 0.5 * db;
  let g11 = dc;
  let dSigma = g00 * outer(T0, T0) + g01 * (outer(T0, T1) + outer(T1, T0)) + g11 * outer(T1, T1);
  var dT = vec3<f32>(0.0);
  if (frame.ortho == 0u) {
    let dT0 = 2.0 * (g00 * u + g01 * w);
    let dT1 = 2.0 * (g01 * u + g11 * w);
    let dj00 = dot(dT0, Rr0);
    let dj02 = dot(dT0, Rr2);
    let dj11 = dot(dT1, Rr1);
    let dj12 = dot(dT1, Rr2);
    let iz2 = iz * iz;
    let iz3 = iz2 * iz;
    dT.x += dj02 * (-frame.fx * in_x * iz2);
    dT.y += dj12 * (-frame.fy * in_y * iz2);
    dT.z += dj00 * (-frame.fx * iz2) + dj11 * (-frame.fy * iz2) +
      dj02 * (frame.fx * in_x * tx * iz3 + frame.fx * xc * iz2) +
      dj12 * (frame.fy * in_y * ty * iz3 + frame.fy * yc * iz2);
    // Projected centre u = fx·x/z + cx.
    dT.x += gx * frame.fx * iz;
    dT.y += gy * frame.fy * iz;
    dT.z -= (gx * frame.fx * tx + gy * frame.fy * ty) * iz * iz;
  } else {
    dT.x += gx * frame.fx;
    dT.y += gy * frame.fy;
  }
  let dm = dT.x * Rr0 + dT.y * Rr1 + dT.z * Rr2 + d_mean_dir; // Rᵀ·dT
  grads[mo] = dm.x;
  grads[mo + 1u] = dm.y;
  grads[mo + 2u] = dm.z;

  // Σ = M·Mᵀ → scales and rotation: dL/dM = 2·dΣ·M (dΣ symmetric).
  var dR: array<vec3<f32>, 3>; // columns of dL/dR
  var dls = vec3<f32>(0.0);
  for (var k = 0u; k < 3u; k++) {
    let dmk = 2.0 * (dSigma * M[k]);
    dls[k] = dot(dmk, rot[k]) * sc[k];
    dR[k] = dmk * sc[k];
  }
  grads[so] = dls.x;
  grads[so + 1u] = dls.y;
  grads[so + 2u] = dls.z;
  // r_{row,col} = dR[col][row]
  let r0 = dR[0].x;
  let r1 = dR[1].x;
  let r2 = dR[2].x;
  let r3 = dR[0].y;
  let r4 = dR[1].y;
  let r5 = dR[2].y;
  let r6 = dR[0].z;
  let r7 = dR[1].z;
  let r8 = dR[2].z;
  let qw = q.x;
  let qx = q.y;
  let qy = q.z;
  let qz = q.w;
  let gw = 2.0 * (-qz * r1 + qy * r2 + qz * r3 - qx * r5 - qy * r6 + qx * r7);
  let gqx = 2.0 * (qy * r1 + qz * r2 + qy * r3 - 2.0 * qx * r4 - qw * r5 + qz * r6 + qw * r7 - 2.0 * qx * r8);
  let gqy = 2.0 * (-2.0 * qy * r0 + qx * r1 + qw * r2 + qx * r3 + qz * r5 - qw * r6 + qz * r7 - 2.0 * qy * r8);
  let gqz = 2.0 * (-2.0 * qz * r0 - qw * r1 + qx * r2 + qw * r3 - 2.0 * qz * r4 + qy * r5 + qx * r6 + qy * r7);
  let gq = vec4<f32>(gw, gqx, gqy, gqz);
  let dq = (gq - q * dot(gq, q)) / qn;
  grads[qo] = dq.x;
  grads[qo + 1u] = dq.y;
  grads[qo + 2u] = dq.z;
  grads[qo + 3u] = dq.w;
}

fn outer(x: vec3<f32>, y: vec3<f32>) -> mat3x3<f32> {
  return mat3x3<f32>(x * y.x, x * y.y, x * y.z);
}
