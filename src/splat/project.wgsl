// Pass 1 — project and preprocess, one invocation per Gaussian.
//
// Design: mirrors `preprocess()` of _cpu_raster.ts in f32. The scene lives in ONE
// flat parameter buffer (means | logScales | quats | opacity logits | colours, the
// host arrays back to back, offsets in `Frame`), so upload, gradients and Adam
// share a layout and the optimiser never repacks. Each Gaussian writes a `Splat`
// (2D centre, conic, opacity, colour, depth, radius, tile rect, SH clamp bits) and
// its depth sort key: the f32 depth bits flipped so that unsigned order equals
// float order (also for negative depths, which ortho cameras produce); culled
// Gaussians get key 0xffffffff and radius 0. The value array is initialised to the
// identity so that the stable radix sort keeps index order on depth ties, as the
// CPU reference does.

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> splats: array<Splat>;
@group(0) @binding(3) var<storage, read_write> depth_keys: array<u32>;
@group(0) @binding(4) var<storage, read_write> depth_vals: array<u32>;

fn sort_key(z: f32) -> u32 {
  let b = bitcast<u32>(z);
  if ((b & 0x80000000u) != 0u) { return ~b; }
  return b | 0x80000000u;
}

@compute @workgroup_size(WG_1D)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= frame.n) { return; }
  depth_vals[i] = i;
  depth_keys[i] = 0xffffffffu;
  var s: Splat;
  s.radius = 0;
  splats[i] = s;

  let mo = frame.off_means + 3u * i;
  let m = vec3<f32>(params[mo], params[mo + 1u], params[mo + 2u]);
  let tx = frame.r00 * m.x + frame.r01 * m.y + frame.r02 * m.z + frame.t0;
  let ty = frame.r10 * m.x + frame.r11 * m.y + frame.r12 * m.z + frame.t1;
  let tz = frame.r20 * m.x + frame.r21 * m.y + frame.r22 * m.z + frame.t2;
  if (!(tz > frame.near)) { return; }

  // Σ = M·Mᵀ with M = R(q)·diag(exp(logScale)).
  let qo = frame.off_quats + 4u * i;
  var q = vec4<f32>(params[qo], params[qo + 1u], params[qo + 2u], params[qo + 3u]);
  var qn = length(q);
  if (qn == 0.0) { qn = 1.0; }
  q = q / qn;
  let so = frame.off_scales + 3u * i;
  let sc = exp(vec3<f32>(params[so], params[so + 1u], params[so + 2u]));
  let rot = quat_to_rotmat(q);
  let M = mat3x3<f32>(rot[0] * sc.x, rot[1] * sc.y, rot[2] * sc.z); // columns
  let sigma = M * transpose(M);

  // T = J·W (rows [2, 3]) with the clamped Jacobian (pinhole) or the constant one (ortho).
  var j00 = frame.fx;
  var j11 = frame.fy;
  var j02 = 0.0;
  var j12 = 0.0;
  if (frame.ortho == 0u) {
    let iz = 1.0 / tz;
    let xc = min(frame.lim_x, max(-frame.lim_x, tx * iz));
    let yc = min(frame.lim_y, max(-frame.lim_y, ty * iz));
    j00 = frame.fx * iz;
    j11 = frame.fy * iz;
    j02 = -frame.fx * xc * iz;
    j12 = -frame.fy * yc * iz;
  }
  let T0 = vec3<f32>(j00 * frame.r00 + j02 * frame.r20, j00 * frame.r01 + j02 * frame.r21, j00 * frame.r02 + j02 * frame.r22);
  let T1 = vec3<f32>(j11 * frame.r10 + j12 * frame.r20, j11 * frame.r11 + j12 * frame.r21, j11 * frame.r12 + j12 * frame.r22);
  let u = sigma * T0;
  let w = sigma * T1;
  let a = dot(T0, u) + COV2D_DILATION;
  let b = dot(T0, w);
  let c = dot(T1, w) + COV2D_DILATION;
  let det = a * c - b * b;
  if (!(det > 0.0)) { return; }
  let inv = 1.0 / det;
  let mid = 0.5 * (a + c);
  let disc = sqrt(max(EIGEN_FLOOR, mid * mid - det));
  let lambda = max(mid + disc, mid - disc);
  let radius = i32(ceil(SIGMA_RADIUS * sqrt(lambda)));

  var px: f32;
  var py: f32;
  if (frame.ortho != 0u) {
    px = frame.fx * tx + frame.cx;
    py = frame.fy * ty + frame.cy;
  } else {
    px = frame.fx * tx / tz + frame.cx;
    py = frame.fy * ty / tz + frame.cy;
  }
  if (!(abs(px) < 3.0e38 && abs(py) < 3.0e38 && radius > 0)) { return; }
  let r = f32(radius);
  let ts = f32(TILE_SIZE);
  let gx = f32(frame.tiles_x);
  let gy = f32(frame.tiles_y);
  let x0 = u32(clamp(floor((px - r) / ts), 0.0, gx));
  let y0 = u32(clamp(floor((py - r) / ts), 0.0, gy));
  let x1 = u32(clamp(floor((px + r + ts - 1.0) / ts), 0.0, gx));
  let y1 = u32(clamp(floor((py + r + ts - 1.0) / ts), 0.0, gy));
  if ((x1 - x0) * (y1 - y0) == 0u) { return; }

  s.x = px;
  s.y = py;
  s.conic_a = c * inv;
  s.conic_b = -b * inv;
  s.conic_c = a * inv;
  s.opacity = 1.0 / (1.0 + exp(-params[frame.off_opacity + i]));
  s.depth = tz;
  s.radius = radius;
  s.tile_x0 = x0;
  s.tile_y0 = y0;
  s.tile_x1 = x1;
  s.tile_y1 = y1;
  s.clamped = 0u;
  let co = frame.off_colors + frame.color_stride * i;
  if (frame.color_mode == 0u) {
    let dir = sh_dir(m);
    var basis: array<f32, 16>;
    sh_basis(frame.sh_degree, dir, &basis);
    let k = (frame.sh_degree + 1u) * (frame.sh_degree + 1u);
    var col = vec3<f32>(0.0);
    for (var j = 0u; j < k; j++) {
      col += basis[j] * vec3<f32>(params[co + 3u * j], params[co + 3u * j + 1u], params[co + 3u * j + 2u]);
    }
    col += SH_COLOR_OFFSET;
    s.clamped = select(0u, 1u, col.x < 0.0) | select(0u, 2u, col.y < 0.0) | select(0u, 4u, col.z < 0.0);
    col = max(col, vec3<f32>(0.0));
    s.r = col.x;
    s.g = col.y;
    s.b = col.z;
  } else {
    s.r = params[co];
    s.g = params[co + 1u];
    s.b = params[co + 2u];
  }
  splats[i] = s;
  depth_keys[i] = sort_key(tz);
}
